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
            // Then records later within the same second, whose date and time come from the second's first.
            long second = ns - (ns % 1_000_000_000);
            foreach (long later in new[] { ns, second + random.NextInt64(ns - second, 1_000_000_000), second + 999_999_999 })
            {
                Assert.Equal(DateTime.UnixEpoch.AddTicks(later / 100).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
                    RecordJson.FormatTimestamp(later));
            }
        }
    }

    [Fact]
    public void LatenciesReadAsTheRoundedMillisecondsJsonWouldWrite()
    {
        var random = new Random(11);
        double[] fixedValues = [0, 0.0004, 0.0005, 0.0015, 0.02, 0.5, 1, 10.825, 12.3456, 999.9995, 123_456_789.0125, 5e10, 1e12, -1, double.NaN];
        var samples = fixedValues
            .Concat(Enumerable.Range(0, 20_000).Select(_ => random.NextInt64(0, 10_000_000_000) / 1e6))
            .Concat(Enumerable.Range(0, 2_000).Select(_ => random.NextDouble() * Math.Pow(10, random.Next(-4, 9))));
        foreach (double ms in samples)
        {
            Assert.Equal(Json(w => w.WriteNumber("l", double.IsFinite(ms) ? Math.Round(ms, 3) : 0)), Json(w => Tattle.Records.Json.JsonFields.WriteMilliseconds(w, JsonEncodedText.Encode("l"), double.IsFinite(ms) ? ms : 0)));
        }
        Assert.Equal("{\"l\":null}", Json(w => Tattle.Records.Json.JsonFields.WriteMilliseconds(w, JsonEncodedText.Encode("l"), null)));

        static string Json(Action<Utf8JsonWriter> write)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                write(w);
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.WrittenSpan);
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
    public void EachMessageRecordNamesItsOwnConnectionAndItsEndpointAsItIsNow()
    {
        // Connections whose ids share a cache slot, records interleaved, and an endpoint that learns its host name:
        // every line says the pid, comm, conn, role and remote of its own record, in the schema's order.
        string[] conns = ["c1", "c162", "c2", "c1"]; // c1 and c162 share a slot of the cache
        var stream = new MemoryStream();
        var plain = new Endpoint("10.0.0.1", 443);
        var named = plain with { Host = "api.example.com" };
        var expected = new List<(int Pid, string Conn, string Role, Endpoint Remote)>();
        using (var sink = new JsonLinesSink(stream, ownsStream: false))
        {
            for (int i = 0; i < 40; i++)
            {
                string conn = conns[i % conns.Length];
                var remote = i < 20 ? plain : named;
                string role = i % 3 == 0 ? "server" : "client";
                expected.Add((100 + (i % 2), conn, role, remote));
                sink.Write(new HttpRecord
                {
                    TimestampNs = i,
                    Pid = 100 + (i % 2),
                    Comm = "curl",
                    Conn = conn,
                    Role = role,
                    Remote = remote,
                    Method = "GET",
                    LatencyMs = i / 7.0,
                });
            }
        }
        string[] lines = Encoding.UTF8.GetString(stream.ToArray()).TrimEnd('\n').Split('\n');
        Assert.Equal(expected.Count, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            var root = JsonDocument.Parse(lines[i]).RootElement;
            Assert.Equal(["type", "ts", "pid", "comm", "conn", "role", "remote", "tls", "method"], root.EnumerateObject().Select(p => p.Name).Take(9));
            Assert.Equal(expected[i].Pid, root.GetProperty("pid").GetInt32());
            Assert.Equal(expected[i].Conn, root.GetProperty("conn").GetString());
            Assert.Equal(expected[i].Role, root.GetProperty("role").GetString());
            var remote = root.GetProperty("remote");
            Assert.Equal("10.0.0.1", remote.GetProperty("addr").GetString());
            Assert.Equal(443, remote.GetProperty("port").GetInt32());
            Assert.Equal(expected[i].Remote.Host, remote.TryGetProperty("host", out var host) ? host.GetString() : null);
            Assert.Equal(Math.Round(i / 7.0, 3), root.GetProperty("latency_ms").GetDouble());
        }
    }

    [Fact]
    public void HeaderBlocksThatRecurReadBackAsEachRecordsOwn()
    {
        // Blocks of the same shape (count and lengths: one cache slot) with one value changing, as Date does, each
        // written several times in new string instances: every line carries its own record's values.
        var stream = new MemoryStream();
        var written = new List<string>();
        using (var sink = new JsonLinesSink(stream, ownsStream: false))
        {
            for (int i = 0; i < 60; i++)
            {
                string date = $"Thu, 03 Dec 2026 06:30:{(i / 7) % 10:00} GMT";
                string etag = i % 5 == 0 ? "\"abc-264\"" : "\"abd-264\"";
                written.Add(date + "|" + etag);
                sink.Write(new HttpRecord
                {
                    TimestampNs = i,
                    Pid = 1,
                    Comm = "nginx",
                    Conn = "c" + (i % 3),
                    Role = "server",
                    RespHeaders = [new("Server", new string("nginx".AsSpan())), new("Date", date), new("ETag", etag), new("Set-Cookie", "REDACTED")],
                });
            }
        }
        string[] lines = Encoding.UTF8.GetString(stream.ToArray()).TrimEnd('\n').Split('\n');
        Assert.Equal(written.Count, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            var resp = JsonDocument.Parse(lines[i]).RootElement.GetProperty("resp_headers");
            Assert.Equal(["server", "date", "etag", "set-cookie"], resp.EnumerateObject().Select(p => p.Name));
            Assert.Equal(written[i], resp.GetProperty("date").GetString() + "|" + resp.GetProperty("etag").GetString());
            Assert.Equal("nginx", resp.GetProperty("server").GetString());
        }
    }

    [Fact]
    public void RepeatedStringInstancesReadBackTheSameEveryTime()
    {
        // The same instances written again come from the encoded cache: they must read back as the first time did.
        string comm = "ngi\"nx<é>";
        string conn = "c7";
        var headers = new HttpHeader[]
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
        var headers = new HttpHeader[]
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
                ReqHeaders = new List<HttpHeader> { new("Host", "h"), new("host", "h2") },
            });
        }
        var root = JsonDocument.Parse(Encoding.UTF8.GetString(stream.ToArray())).RootElement;
        var resp = root.GetProperty("resp_headers");
        Assert.Equal(["vary", "server", "x-a"], resp.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Accept, Origin, Cookie", resp.GetProperty("vary").GetString());
        Assert.Equal("h, h2", root.GetProperty("req_headers").GetProperty("host").GetString()); // a list, not an array
    }

    [Fact]
    public void AConnectionsRecordsEachShowTheirOwnFields_WhenTheirHeadsRepeatOrChange()
    {
        // Keep-alive connections whose records repeat the last one's fields (written from the remembered run) or
        // change one of them (the run is made again): every line must read back as its own record. Instances
        // recur as the parser hands them over; a list of fields is changed between two records that share it.
        var random = new Random(11);
        string[] paths = ["/", "/a?b=1", "/\"x\""];
        string?[] methods = ["GET", "POST", null];
        int?[] statuses = [200, 404, null];
        long?[] lengths = [850, 851, null];
        HttpHeader[][] blocks = [[new("Server", "nginx"), new("ETag", "\"1\"")], [new("Server", "nginx"), new("ETag", "\"2\"")], []];
        var list = new List<HttpHeader> { new("Host", "a") };
        string[] conns = ["c1", "c2", "e0"]; // "c1" and "e0" share a slot of the cache
        var written = new List<HttpRecord>();
        var stream = new MemoryStream();
        using (var sink = new JsonLinesSink(stream, ownsStream: false))
        {
            HttpRecord? last = null;
            for (int i = 0; i < 600; i++)
            {
                HttpRecord record;
                if (last is not null && random.Next(3) > 0)
                {
                    // The same instances again: the last record's fields, or one of them changed.
                    record = random.Next(8) switch
                    {
                        0 => last with { Path = paths[random.Next(paths.Length)] },
                        1 => last with { Status = statuses[random.Next(statuses.Length)] },
                        2 => last with { RespBytes = lengths[random.Next(lengths.Length)] },
                        3 => last with { RespHeaders = blocks[random.Next(blocks.Length)] },
                        4 => last with { Method = methods[random.Next(methods.Length)] },
                        5 => last with { Tls = !last.Tls, Sni = last.Tls ? null : "example.com" },
                        6 => last with { Conn = conns[random.Next(conns.Length)] },
                        _ => last with { },
                    };
                }
                else
                {
                    record = new HttpRecord
                    {
                        TimestampNs = 0,
                        Pid = 1,
                        Comm = "curl",
                        Conn = conns[random.Next(conns.Length)],
                        Role = "client",
                        Method = methods[random.Next(methods.Length)],
                        Path = paths[random.Next(paths.Length)],
                        Host = "a",
                        Version = "HTTP/1.1",
                        Status = statuses[random.Next(statuses.Length)],
                        ReqBytes = 40,
                        RespBytes = lengths[random.Next(lengths.Length)],
                        ReqHeaders = random.Next(4) == 0 ? list : null,
                        RespHeaders = blocks[random.Next(blocks.Length)],
                    };
                }
                if (random.Next(10) == 0)
                {
                    list.Add(new HttpHeader("X-N" + i.ToString(CultureInfo.InvariantCulture), "v"));
                }
                record = record with { TimestampNs = 1_764_460_800_000_000_000 + i };
                sink.Write(record);
                // What the line must show, taken now: the list may change before the next record.
                written.Add(record with { ReqHeaders = record.ReqHeaders is null ? null : [.. record.ReqHeaders] });
                last = record;
            }
        }
        string[] lines = Encoding.UTF8.GetString(stream.ToArray()).TrimEnd('\n').Split('\n');
        Assert.Equal(written.Count, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            var r = written[i];
            var root = JsonDocument.Parse(lines[i]).RootElement;
            Assert.Equal(r.Conn, root.GetProperty("conn").GetString());
            Assert.Equal(r.Tls, root.GetProperty("tls").GetBoolean());
            Assert.Equal(r.Sni, root.TryGetProperty("sni", out var sni) ? sni.GetString() : null);
            Assert.Equal(r.Method, root.GetProperty("method").GetString());
            Assert.Equal(r.Path, root.GetProperty("path").GetString());
            Assert.Equal(r.Status, root.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.Number ? status.GetInt32() : null);
            Assert.Equal(r.RespBytes, root.TryGetProperty("resp_bytes", out var bytes) && bytes.ValueKind == JsonValueKind.Number ? bytes.GetInt64() : null);
            Assert.Equal(Fields(r.ReqHeaders), Fields(root.GetProperty("req_headers")));
            Assert.Equal(Fields(r.RespHeaders), Fields(root.GetProperty("resp_headers")));
            Assert.False(root.GetProperty("truncated").GetBoolean()); // the fields after the run follow it
        }
    }

    [Fact]
    public void AListOfFieldsThatGrowsBetweenTwoRecords_IsWrittenAsItIsNow()
    {
        // Arrays handed to records are never changed, lists may be: a run that holds a list is never remembered.
        var list = new List<HttpHeader> { new("Host", "a") };
        var record = new HttpRecord { TimestampNs = 0, Pid = 1, Comm = "c", Conn = "c1", Role = "client", Method = "GET", ReqHeaders = list };
        var stream = new MemoryStream();
        using (var sink = new JsonLinesSink(stream, ownsStream: false))
        {
            sink.Write(record);
            sink.Write(record);
            list.Add(new HttpHeader("Accept", "*/*"));
            sink.Write(record);
        }
        string[] lines = Encoding.UTF8.GetString(stream.ToArray()).TrimEnd('\n').Split('\n');
        Assert.Equal(["host=a", "host=a", "host=a;accept=*/*"], lines.Select(l => Fields(JsonDocument.Parse(l).RootElement.GetProperty("req_headers"))));
    }

    private static string Fields(IReadOnlyList<HttpHeader>? headers) =>
        headers is null ? "null" : string.Join(";", headers.Select(h => $"{h.Name.ToLowerInvariant()}={h.Value}"));

    private static string Fields(JsonElement headers) =>
        headers.ValueKind == JsonValueKind.Null ? "null" : string.Join(";", headers.EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}"));

    private static NoticeRecord Notice(string message) => new()
    {
        TimestampNs = 1_764_460_800_000_000_000,
        Pid = 1,
        Comm = "tattle",
        Message = message,
    };
}
