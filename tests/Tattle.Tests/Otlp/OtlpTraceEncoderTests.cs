using System.Diagnostics;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Tattle.Output.Otlp;
using Tattle.Tests.Support;

namespace Tattle.Tests.Otlp;

/// <summary>OtlpTraceEncoder's bytes, read back by protoc --decode_raw (field numbers as text) and by OtlpTraceDecoder.</summary>
public sealed class OtlpTraceEncoderTests(ITestOutputHelper output)
{
    internal static readonly byte[] TraceId = [0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36];
    internal static readonly byte[] SpanId = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];
    internal static readonly byte[] ParentId = [0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8];
    private const long Start = 1_764_460_800_123_456_789;

    internal static OtlpResource Process(int pid, string exe) => new(
    [
        new("process.pid", pid),
        new("process.executable.path", exe),
        new("host.name", "node-7"),
    ]);

    internal static OtlpSpan Span(OtlpResource resource, string name = "GET /users", long startNs = Start) => new()
    {
        TraceId = TraceId,
        SpanId = SpanId,
        Name = name,
        Kind = OtlpSpanKind.Client,
        StartUnixNs = startNs,
        EndUnixNs = startNs + 8_200_000,
        Attributes =
        [
            new("http.request.method", "GET"),
            new("http.response.status_code", 503),
            new("network.peer.port", 8000L),
            new("tattle.latency_ms", 8.25),
            new("tattle.tls", true),
        ],
        Status = OtlpStatusCode.Error,
        StatusMessage = "503 Service Unavailable",
        Resource = resource,
    };

    [SkippableFact]
    public void ProtocDecodeRaw_ShowsEveryFieldUnderItsOtlpNumber()
    {
        Requires.Program(output, "protoc");
        var span = Span(Process(4242, "/usr/bin/curl")) with { ParentSpanId = ParentId };
        string text = DecodeRaw(OtlpTraceEncoder.Encode([span], "tattle", "0.9.1"));
        output.WriteLine(text);

        // ExportTraceServiceRequest.resource_spans(1) > ResourceSpans.resource(1) > Resource.attributes(1) > KeyValue.
        string expected = """
            1 {
              1 {
                1 {
                  1: "process.pid"
                  2 {
                    3: 4242
                  }
                }
                1 {
                  1: "process.executable.path"
                  2 {
                    1: "/usr/bin/curl"
                  }
                }
                1 {
                  1: "host.name"
                  2 {
                    1: "node-7"
                  }
                }
              }
              2 {
                1 {
                  1: "tattle"
                  2: "0.9.1"
                }
                2 {
            """;
        Assert.StartsWith(expected.ReplaceLineEndings("\n"), text);
        // Span: ids as bytes (1, 2, 4), name 5, kind 6 (CLIENT = 3), times 7 and 8 as fixed64, attributes 9, status 15.
        Assert.Contains("""      1: "K\371/5w\263M\246\243\316\222\235\016\016G6" """.TrimEnd(), text);
        Assert.Contains("""      2: "\000\360g\252\013\251\002\267" """.TrimEnd(), text);
        Assert.Contains("""      4: "S\231\\?B\315\212\330" """.TrimEnd(), text);
        Assert.Contains("      5: \"GET /users\"\n      6: 3\n", text);
        Assert.Contains($"      7: 0x{Start:x16}\n      8: 0x{Start + 8_200_000:x16}\n", text);
        Assert.Contains("        1: \"http.response.status_code\"\n        2 {\n          3: 503\n", text);
        Assert.Contains("        1: \"network.peer.port\"\n        2 {\n          3: 8000\n", text);
        Assert.Contains($"        1: \"tattle.latency_ms\"\n        2 {{\n          4: 0x{BitConverter.DoubleToInt64Bits(8.25):x16}\n", text);
        Assert.Contains("        1: \"tattle.tls\"\n        2 {\n          2: 1\n", text);
        Assert.Contains("      15 {\n        2: \"503 Service Unavailable\"\n        3: 2\n      }\n", text);
    }

    [Fact]
    public void Decoder_ReadsBackEveryField()
    {
        var resource = Process(4242, "/usr/bin/curl");
        var span = Span(resource) with { ParentSpanId = ParentId };

        Assert.True(OtlpTraceDecoder.TryDecode(OtlpTraceEncoder.Encode([span], "tattle", "0.9.1"), out var resources, out var error), error);

        var rs = Assert.Single(resources);
        Assert.Equal(4242L, rs.Resource["process.pid"]);
        Assert.Equal("/usr/bin/curl", rs.Resource["process.executable.path"]);
        Assert.Equal(("tattle", "0.9.1"), (rs.ScopeName, rs.ScopeVersion));
        var s = Assert.Single(rs.Spans);
        Assert.Equal(TraceId, s.TraceId);
        Assert.Equal(SpanId, s.SpanId);
        Assert.Equal(ParentId, s.ParentSpanId);
        Assert.Equal("GET /users", s.Name);
        Assert.Equal((int)OtlpSpanKind.Client, s.Kind);
        Assert.Equal((ulong)Start, s.StartUnixNs);
        Assert.Equal((ulong)Start + 8_200_000, s.EndUnixNs);
        Assert.Equal("GET", s.Attributes["http.request.method"]);
        Assert.Equal(503L, s.Attributes["http.response.status_code"]);
        Assert.Equal(8000L, s.Attributes["network.peer.port"]);
        Assert.Equal(8.25, s.Attributes["tattle.latency_ms"]);
        Assert.Equal(true, s.Attributes["tattle.tls"]);
        Assert.Equal((int)OtlpStatusCode.Error, s.StatusCode);
        Assert.Equal("503 Service Unavailable", s.StatusMessage);
    }

    [Fact]
    public void SpansOfTwoResources_LandInTwoResourceSpans_InFirstSeenOrder()
    {
        var curl = Process(100, "/usr/bin/curl");
        var python = Process(200, "/usr/bin/python3");
        OtlpSpan[] spans = [Span(curl, "a"), Span(python, "b"), Span(curl, "c"), Span(python, "d"), Span(curl, "e")];

        Assert.True(OtlpTraceDecoder.TryDecode(OtlpTraceEncoder.Encode(spans, "tattle", "1"), out var resources, out var error), error);

        Assert.Equal(2, resources.Count);
        Assert.Equal(100L, resources[0].Resource["process.pid"]);
        Assert.Equal(["a", "c", "e"], resources[0].Spans.Select(s => s.Name));
        Assert.Equal(200L, resources[1].Resource["process.pid"]);
        Assert.Equal(["b", "d"], resources[1].Spans.Select(s => s.Name));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ABatchInAPooledBuffer_IsTheSameRequest_FramedForGrpcWhenAsked(bool grpc)
    {
        var curl = Process(100, "/usr/bin/curl");
        var python = Process(200, "/usr/bin/python3");
        // Enough spans to pass the large-object threshold, the case the pooled buffer is for.
        var encoded = Enumerable.Range(0, 600)
            .Select(i => OtlpTraceEncoder.EncodeSpan(Span(i % 3 == 0 ? python : curl, $"GET /users/{i}")))
            .ToList();
        byte[] expected = OtlpTraceEncoder.EncodeBatch(encoded, "tattle", "1");
        Assert.True(expected.Length > 85_000);

        var pooled = OtlpTraceEncoder.EncodeBatchPooled(encoded, "tattle", "1", grpc);
        try
        {
            var bytes = pooled.AsSpan();
            if (grpc)
            {
                Assert.Equal(0, bytes[0]); // not compressed
                Assert.Equal(expected.Length, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes[1..]));
                bytes = bytes[OtlpTraceEncoder.GrpcHeaderBytes..];
            }
            Assert.True(bytes.SequenceEqual(expected));
            Assert.True(OtlpTraceDecoder.TryDecode(bytes.ToArray(), out var resources, out var error), error);
            Assert.Equal(600, resources.Sum(r => r.Spans.Count));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(pooled.Array!);
        }
    }

    [Fact]
    public void TwoEqualResourceInstances_AreTwoResources()
    {
        // Identity, not equal attributes, makes a resource: two processes may look alike (a pid reused).
        OtlpSpan[] spans = [Span(Process(1, "/bin/sh")), Span(Process(1, "/bin/sh"))];

        Assert.True(OtlpTraceDecoder.TryDecode(OtlpTraceEncoder.Encode(spans, "tattle", "1"), out var resources, out _));

        Assert.Equal(2, resources.Count);
    }

    [Fact]
    public void UnsetStatusAndNoParent_LeaveTheirFieldsOut()
    {
        var span = Span(Process(1, "/bin/sh")) with { Status = OtlpStatusCode.Unset, StatusMessage = null };

        var s = Assert.Single(OtlpTraceDecoder.Spans(OtlpTraceEncoder.Encode([span], "tattle", "1")));

        Assert.Empty(s.ParentSpanId);
        Assert.Equal(0, s.StatusCode);
        Assert.Equal("", s.StatusMessage);
    }

    [Fact]
    public void AttributeValues_OfOtherTypes_KeepTheirMeaning()
    {
        var span = Span(Process(1, "/bin/sh")) with
        {
            Attributes =
            [
                new("u16", (ushort)65535),
                new("u32", uint.MaxValue),
                new("u64.small", 7UL),
                new("u64.large", ulong.MaxValue),
                new("f32", 0.5f),
                new("negative", -3),
                new("empty", ""),
                new("when", new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero)),
                new("null", null!),
            ],
        };

        var a = Assert.Single(OtlpTraceDecoder.Spans(OtlpTraceEncoder.Encode([span], "tattle", "1"))).Attributes;

        Assert.Equal(65535L, a["u16"]);
        Assert.Equal((long)uint.MaxValue, a["u32"]);
        Assert.Equal(7L, a["u64.small"]);
        Assert.Equal("18446744073709551615", a["u64.large"]);
        Assert.Equal(0.5, a["f32"]);
        Assert.Equal(-3L, a["negative"]);
        Assert.Equal("", a["empty"]);
        Assert.Equal("12/02/2026 12:00:00 +00:00", a["when"]);
        Assert.False(a.ContainsKey("null"));
    }

    [Fact]
    public void ASpanWithABadId_IsRefusedByTheEncoder()
    {
        var span = Span(Process(1, "/bin/sh")) with { TraceId = new byte[16] };

        Assert.Equal("trace id must be 16 bytes, not all zero", span.Invalid());
        Assert.Throws<ArgumentException>(() => OtlpTraceEncoder.Encode([span], "tattle", "1"));
        Assert.NotNull((span with { TraceId = TraceId, SpanId = new byte[4] }).Invalid());
        Assert.NotNull((span with { TraceId = TraceId, ParentSpanId = new byte[8] }).Invalid());
    }

    [Fact]
    public void NoSpans_IsAnEmptyRequest() => Assert.Empty(OtlpTraceEncoder.Encode([], "tattle", "1"));

    [Fact]
    public void Decoder_OnTruncatedOrGarbageBytes_ReturnsFalse()
    {
        byte[] request = OtlpTraceEncoder.Encode([Span(Process(1, "/bin/sh"))], "tattle", "1");
        for (int cut = 1; cut < request.Length; cut += 7)
        {
            Assert.False(OtlpTraceDecoder.TryDecode(request[..cut], out _, out var error));
            Assert.NotNull(error);
        }
        Assert.False(OtlpTraceDecoder.TryDecode([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], out _, out _));
    }

    [Fact]
    public void StringsSeenAgain_AreWrittenFromTheirKeptBytes_TheSameAsTheFirstTime()
    {
        // Past 127 bytes a length takes two varint bytes; past 256 characters a string is never kept; a lone
        // surrogate is sent as U+FFFD, as UTF-8 encoders do.
        string path = "/ünïcødé/" + new string('x', 140);
        string longText = new('p', 300);
        KeyValuePair<string, object>[] attributes =
        [
            new("url.path", path), new("long", longText), new("odd", "😀 \ud800"), new("negative", -1L), new("min", int.MinValue),
        ];
        var resource = Process(1, "/usr/sbin/nginx");
        // The same instances three times: seen once, kept on the second sighting, written from what was kept.
        var spans = Enumerable.Range(0, 3).Select(_ => Span(resource, path) with { Attributes = attributes }).ToArray();

        var encoded = spans.Select(span => OtlpTraceEncoder.EncodeSpan(span).Bytes).ToList();
        var decoded = OtlpTraceDecoder.Spans(OtlpTraceEncoder.Encode(spans, "tattle", "1"));

        Assert.Equal(encoded[0], encoded[1]);
        Assert.Equal(encoded[0], encoded[2]);
        Assert.Equal(3, decoded.Count);
        Assert.All(decoded, s =>
        {
            Assert.Equal(path, s.Name);
            Assert.Equal(path, s.Attributes["url.path"]);
            Assert.Equal(longText, s.Attributes["long"]);
            Assert.Equal("😀 \ufffd", s.Attributes["odd"]);
            Assert.Equal(-1L, s.Attributes["negative"]);
            Assert.Equal((long)int.MinValue, s.Attributes["min"]);
        });
    }

    [Fact]
    public void AnyAttributes_ReadBackAsTheyWereWritten()
    {
        var resource = Process(7, "/usr/bin/env");
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll<string[], long[], double[]>((texts, numbers, reals) =>
        {
            var attributes = new List<KeyValuePair<string, object>>();
            foreach (var (text, i) in (texts ?? []).Select((t, i) => (t, i)))
            {
                attributes.Add(new($"s{i}", text ?? ""));
            }
            foreach (var (number, i) in (numbers ?? []).Select((n, i) => (n, i)))
            {
                attributes.Add(new($"n{i}", number));
            }
            foreach (var (real, i) in (reals ?? []).Select((r, i) => (r, i)))
            {
                attributes.Add(new($"d{i}", real));
            }
            attributes.Add(new("b", attributes.Count % 2 == 0));
            var span = Span(resource, texts is [{ } first, ..] ? first : "x") with { Attributes = attributes };

            // Twice: the second time every recurring string is written from the bytes kept the first time.
            var once = OtlpTraceEncoder.Encode([span], "tattle", "1");
            var twice = OtlpTraceEncoder.Encode([span], "tattle", "1");
            var back = Assert.Single(OtlpTraceDecoder.Spans(twice)).Attributes;

            Assert.Equal(once, twice);
            Assert.Equal(attributes.Count, back.Count);
            foreach (var (key, value) in attributes)
            {
                object expected = value switch
                {
                    string text => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)),
                    _ => value,
                };
                Assert.Equal(expected, back[key]);
            }
            return true;
        }));
    }

    [Fact]
    public void TraceIds_AreRandomAndNeverZero()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => OtlpTraceIds.NewTraceId()).ToList();
        Assert.All(ids, id => Assert.Equal(16, id.Length));
        Assert.All(ids, id => Assert.Contains(id, b => b != 0));
        Assert.Equal(1000, ids.Select(Convert.ToHexString).Distinct().Count());
        Assert.Equal(8, OtlpTraceIds.NewSpanId().Length);
    }

    /// <summary>protoc --decode_raw: the wire fields by number, with no schema, from protobuf's own parser.</summary>
    internal static string DecodeRaw(byte[] message)
    {
        var psi = new ProcessStartInfo("protoc", "--decode_raw")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var protoc = System.Diagnostics.Process.Start(psi)!;
        var stdout = protoc.StandardOutput.ReadToEndAsync();
        var stderr = protoc.StandardError.ReadToEndAsync();
        protoc.StandardInput.BaseStream.Write(message);
        protoc.StandardInput.Close();
        protoc.WaitForExit();
        Assert.True(protoc.ExitCode == 0, $"protoc --decode_raw: {stderr.Result}");
        return stdout.Result;
    }
}
