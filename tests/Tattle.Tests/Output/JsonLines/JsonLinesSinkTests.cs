using System.Globalization;
using System.Text;
using System.Text.Json;
using Tattle.Output.JsonLines;
using Tattle.Protocols.Http;
using Tattle.Records;

namespace Tattle.Tests.Output.JsonLines;

/// <summary>The JSON Lines writer: lines appear at a flush, timestamps and cached strings read back exactly.</summary>
public sealed class JsonLinesSinkTests
{
    [Fact]
    public void TimestampsMatchTheRfc3339FormWithMicroseconds()
    {
        var random = new Random(7);
        long[] fixedValues = [0, 999, 1_000, 1_764_460_800_123_456_789, 4_102_444_799_999_999_999, 951_782_400_000_000_000];
        foreach (long ns in fixedValues.Concat(Enumerable.Range(0, 5000).Select(_ => random.NextInt64(0, 4_102_444_800_000_000_000))))
        {
            string expected = DateTime.UnixEpoch.AddTicks(ns / 100)
                .ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
            Assert.Equal(expected, RecordJson.FormatTimestamp(ns));
        }
    }

    [Fact]
    public void RecordsReachTheStreamAtAFlushAsWholeLines()
    {
        var stream = new MemoryStream();
        using var sink = new JsonLinesSink(stream, ownsStream: false);
        sink.Write(Notice("first"));
        Assert.Equal(0, stream.Length); // buffered: one write(2) per batch, not per record
        sink.Write(Notice("second"));
        sink.Flush();
        string[] lines = Encoding.UTF8.GetString(stream.ToArray()).Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Equal("", lines[2]);
        Assert.Equal("second", JsonDocument.Parse(lines[1]).RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public void ALargeBatchIsWrittenBeforeTheFlushAndNothingIsLost()
    {
        var stream = new MemoryStream();
        using (var sink = new JsonLinesSink(stream, ownsStream: false))
        {
            for (int i = 0; i < 5000; i++)
            {
                sink.Write(Notice($"notice {i}"));
            }
            Assert.True(stream.Length > 0);
        }
        string[] lines = Encoding.UTF8.GetString(stream.ToArray()).TrimEnd('\n').Split('\n');
        Assert.Equal(5000, lines.Length);
        Assert.Equal("notice 4999", JsonDocument.Parse(lines[^1]).RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public void RepeatedStringInstancesReadBackTheSameEveryTime()
    {
        // The same instances written again come from the encoded cache: they must read back as the first time did.
        string comm = "ngi\"nx<é>";
        string conn = "c7";
        var headers = new KeyValuePair<string, string>[]
        {
            new("Server", "nginx/1.22 \"x\" +é"), new("ETag", "\"6929\""), new("X-Tab", "a\tb\u2028"),
        };
        var stream = new MemoryStream();
        using (var sink = new JsonLinesSink(stream, ownsStream: false))
        {
            for (int i = 0; i < 4; i++)
            {
                sink.Write(new HttpRecord
                {
                    TimestampNs = 1_764_460_800_000_000_000 + i,
                    Pid = 42,
                    Comm = comm,
                    Conn = conn,
                    Role = "server",
                    Remote = new Endpoint("127.0.0.1", 5000),
                    Method = "GET",
                    Path = "/index.html",
                    Version = "HTTP/1.1",
                    Status = 200,
                    RespHeaders = headers,
                });
            }
        }
        string[] lines = Encoding.UTF8.GetString(stream.ToArray()).TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.All(lines, line => Assert.Equal(lines[0], line)); // the timestamps differ by less than a microsecond
        foreach (string line in lines)
        {
            var root = JsonDocument.Parse(line).RootElement;
            Assert.Equal(comm, root.GetProperty("comm").GetString());
            Assert.Equal(conn, root.GetProperty("conn").GetString());
            var resp = root.GetProperty("resp_headers");
            Assert.Equal(headers[0].Value, resp.GetProperty("server").GetString());
            Assert.Equal(headers[1].Value, resp.GetProperty("etag").GetString());
            Assert.Equal(headers[2].Value, resp.GetProperty("x-tab").GetString());
        }
    }

    [Fact]
    public void RepeatedHeaderNamesAreOneLowerCaseFieldWithTheValuesJoinedInWireOrder()
    {
        // RFC 9110 section 5.3: a repeated field is the values joined with ", ", in order; names are case-insensitive.
        var headers = new KeyValuePair<string, string>[]
        {
            new("Vary", "Accept"), new("Server", "nginx"), new("vary", "Origin"), new("X-A", "1"), new("VARY", "Cookie"),
        };
        var stream = new MemoryStream();
        using (var sink = new JsonLinesSink(stream, ownsStream: false))
        {
            sink.Write(new HttpRecord
            {
                TimestampNs = 0,
                Pid = 1,
                Comm = "c",
                Conn = "c1",
                Role = "client",
                RespHeaders = headers,
                ReqHeaders = new List<KeyValuePair<string, string>> { new("Host", "h"), new("host", "h2") },
            });
        }
        var root = JsonDocument.Parse(Encoding.UTF8.GetString(stream.ToArray())).RootElement;
        var resp = root.GetProperty("resp_headers");
        Assert.Equal(["vary", "server", "x-a"], resp.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Accept, Origin, Cookie", resp.GetProperty("vary").GetString());
        Assert.Equal("h, h2", root.GetProperty("req_headers").GetProperty("host").GetString()); // a list, not an array
    }

    private static NoticeRecord Notice(string message) => new()
    {
        TimestampNs = 1_764_460_800_000_000_000,
        Pid = 1,
        Comm = "tattle",
        Message = message,
    };
}
