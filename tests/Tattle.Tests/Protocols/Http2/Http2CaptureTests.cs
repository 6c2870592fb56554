using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http;
using Tattle.Protocols.Http1;
using Tattle.Protocols.Http2;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Http2;

/// <summary>Real connections (curl, nghttp, h2load, nghttpd, python-h2, grpcio, node) replayed through the parser.</summary>
public sealed class Http2CaptureTests(ITestOutputHelper output)
{
    private static string Text(ReadOnlyMemory<byte> body) => Encoding.UTF8.GetString(body.Span);

    private static string? Field(IReadOnlyList<HttpHeader> fields, string name) =>
        fields.FirstOrDefault(h => h.Name == name).Value;

    private List<Http2Exchange> Run(string name, ParserOptions? options = null)
    {
        var feeder = Http2Capture.Load(name).Replay(options);
        var exchanges = feeder.Messages.OfType<Http2Exchange>().ToList();
        foreach (var x in exchanges)
        {
            output.WriteLine(Http2Capture.Summary(x));
        }
        Assert.Equal(0, feeder.Dropped(MessageKind.Request));
        Assert.Equal(0, feeder.Dropped(MessageKind.Response));
        Assert.DoesNotContain(ParseStatus.Invalid, feeder.Statuses);
        // Every recorded connection ran to its end with its tables known from the start.
        Assert.All(exchanges, x => Assert.False(x.Truncated || x.HeadersIncomplete, Http2Capture.Summary(x)));
        return exchanges;
    }

    [Fact]
    public void CurlGetIsOneStream()
    {
        var x = Assert.Single(Run("curl_get"));
        Assert.Equal((1, "GET", "/a.txt", "http", 200), (x.StreamId, x.Method, x.Path, x.Scheme, x.Status!.Value));
        Assert.StartsWith("127.0.0.1:", x.Authority);
        Assert.Equal(["user-agent", "accept"], x.RequestHeaders.Select(h => h.Name));
        Assert.Equal("file a\n", Text(x.ResponseBody));
        Assert.Equal("7", Field(x.ResponseHeaders, "content-length"));
        Assert.Null(x.Grpc);
        Assert.True(x.EndNs > x.StartNs);
    }

    [Fact]
    public void CredentialsAreRedactedInFieldsAndThePath()
    {
        var x = Assert.Single(Run("curl_credentials"));
        Assert.Equal(("POST", "/a.txt?access_token=REDACTED&page=2"), (x.Method, x.Path));
        Assert.Equal("REDACTED", Field(x.RequestHeaders, "authorization"));
        Assert.Equal("REDACTED", Field(x.RequestHeaders, "cookie"));
        Assert.Equal("{\"name\":\"tattle\"}", Text(x.RequestBody));

        var plain = Assert.Single(Run("curl_credentials", Http2Capture.Options with { Redact = false }));
        Assert.Equal("/a.txt?access_token=xyz&page=2", plain.Path);
        Assert.Equal("Basic YWxpY2U6aHVudGVyMg==", Field(plain.RequestHeaders, "authorization"));
    }

    [Fact]
    public void ConcurrentStreamsArePairedById()
    {
        var x = Run("nghttp_concurrent");
        Assert.Equal(4, x.Count);
        var byPath = x.ToDictionary(e => e.Path!);
        Assert.Equal(200, byPath["/a.txt"].Status);
        Assert.Equal(200, byPath["/b.txt"].Status);
        Assert.Equal(404, byPath["/missing"].Status);
        var big = byPath["/big.txt"];
        Assert.Equal(112_500, big.ResponseBody.Length);
        Assert.StartsWith("line 000000 of a file", Text(big.ResponseBody));
        Assert.True(big.ResponseBytes > 112_500);
        Assert.Equal(4, x.Select(e => e.StreamId).Distinct().Count());
        Assert.All(x, e => Assert.Equal(1, e.StreamId % 2));
    }

    [Fact]
    public void H2loadsTwentyRequestsAreTwentyStreams()
    {
        var x = Run("h2load");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (2 * i) + 1), x.Select(e => e.StreamId).Order());
        Assert.All(x, e => Assert.Equal(("GET", "/b.txt", 200, "file b, a little longer\n"), (e.Method, e.Path, e.Status!.Value, Text(e.ResponseBody))));
        // Eight at a time: some stream is answered before one opened earlier ends.
        Assert.True(x.Count > 8);
    }

    [Theory]
    [InlineData("upgrade_curl", new[] { 1 })]
    [InlineData("upgrade_nghttp", new[] { 1, 13 })]
    public void TheUpgradedRequestIsStreamOne(string name, int[] ids)
    {
        var x = Run(name);
        Assert.Equal(ids, x.Select(e => e.StreamId));
        Assert.Equal(("GET", "/first", 200), (x[0].Method, x[0].Path, x[0].Status!.Value));
        Assert.Equal("answer to /first on stream 1\n", Text(x[0].ResponseBody));
        // The HTTP/1.1 request's fields as sent (curl capitalises, nghttp does not).
        Assert.Contains(x[0].RequestHeaders, h => h.Name.Equals("HTTP2-Settings", StringComparison.OrdinalIgnoreCase));
        if (x.Count > 1)
        {
            Assert.Equal(("/second", "answer to /second on stream 13\n"), (x[1].Path, Text(x[1].ResponseBody)));
        }
    }

    [Fact]
    public void GrpcUnaryCallsReportStatusAndMessages()
    {
        var x = Run("grpc_unary");
        Assert.Equal([1, 3], x.Select(e => e.StreamId));
        var ok = x[0].Grpc!;
        Assert.Equal(("demo.v1.Items", "Echo", 0, "OK"), (ok.Service, ok.Method, ok.StatusCode!.Value, ok.StatusName));
        Assert.Equal((1, 5L, 1, 10L, false), (ok.RequestMessages, ok.RequestMessageBytes, ok.ResponseMessages, ok.ResponseMessageBytes, ok.Compressed));
        Assert.Equal("grpc-status", x[0].Trailers[0].Name);

        var fail = x[1].Grpc!;
        Assert.Equal(("Fail", 3, "INVALID_ARGUMENT", "bad input: 100% wrong \u2713"), (fail.Method, fail.StatusCode!.Value, fail.StatusName, fail.Message));
        Assert.Equal((1, 0), (fail.RequestMessages, fail.ResponseMessages));
        Assert.Equal("1", Field(x[1].ResponseHeaders, "x-before"));
    }

    [Fact]
    public void GrpcTrailersOnlyResponseCarriesTheStatus()
    {
        var x = Assert.Single(Run("grpc_trailers_only"));
        Assert.Equal(200, x.Status);
        Assert.Empty(x.Trailers);
        var g = x.Grpc!;
        Assert.Equal(("Missing", 5, "NOT_FOUND", "no such item", 0), (g.Method, g.StatusCode!.Value, g.StatusName, g.Message, g.ResponseMessages));
    }

    [Fact]
    public void GrpcStreamingCallsAreOneExchangeEach()
    {
        var x = Run("grpc_streaming");
        Assert.Equal(["Count 1/3 OK", "Total 3/1 OK", "Echo 1/1 OK"], x.Select(e => $"{e.Grpc!.Method} {e.Grpc.RequestMessages}/{e.Grpc.ResponseMessages} {e.Grpc.StatusName}"));
        Assert.Equal(3 * "item 0".Length, x[0].Grpc!.ResponseMessageBytes);
        Assert.Equal(60, x[1].Grpc!.RequestMessageBytes);
        Assert.False(x[0].Grpc!.Compressed);
        Assert.True(x[2].Grpc!.Compressed);
        Assert.Equal("gzip", Field(x[2].RequestHeaders, "grpc-encoding"));
    }

    [Fact]
    public void NodeShowsHintsTrailersPushResetAndGoAway()
    {
        var x = Run("node");
        Assert.Equal([1, 3, 2, 5, 7], x.Select(e => e.StreamId));
        Assert.Equal(("/hints", 200), (x[0].Path, x[0].Status!.Value));
        Assert.Equal([103], x[0].Interim);
        Assert.Equal(("x-checksum", "abc123"), (x[0].Trailers[0].Name, x[0].Trailers[0].Value));
        Assert.Equal("hinted body\n", Text(x[0].ResponseBody));
        Assert.Equal(("/pushed.css", 3, 200, "body { color: red }\n"), (x[2].Path, x[2].PromisedBy!.Value, x[2].Status!.Value, Text(x[2].ResponseBody)));
        Assert.Equal(new Http2StreamError("RST_STREAM", 8, "CANCEL", "client"), x[3].Error);
        Assert.Equal("first part\n", Text(x[3].ResponseBody));
        Assert.Equal(new Http2StreamError("GOAWAY", 11, "ENHANCE_YOUR_CALM", "server"), x[4].Error);
        Assert.Null(x[4].Status);
    }

    [Fact]
    public void ConnectionCountersSeeEveryControlFrame()
    {
        var feeder = Http2Capture.Load("grpc_unary").Replay();
        var c = ((Http2Parser)feeder.Parser).Counters;
        // From the recording (frame dump of grpc_unary.c2s and .s2c): 4 SETTINGS, 4 PINGs, 9 WINDOW_UPDATEs.
        Assert.Equal((4, 4, 9), (c.Settings, c.Pings, c.WindowUpdates));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RandomSplitsGiveTheSameExchanges(string name)
    {
        var capture = Http2Capture.Load(name);
        string[] whole = [.. capture.Replay().Messages.Select(Http2Capture.Summary)];
        for (int seed = 0; seed < 8; seed++)
        {
            var feeder = capture.Replay(random: new Random(seed), maxSegment: seed % 2 == 0 ? 7 : 300);
            Assert.Equal(whole, feeder.Messages.Select(Http2Capture.Summary));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryPrefixNeedsMoreDataAndReportsNothingEarly(string name)
    {
        var capture = Http2Capture.Load(name);
        int[] from = capture.Http1Bytes();
        foreach (var kind in new[] { MessageKind.Request, MessageKind.Response })
        {
            byte[] bytes = capture.Recording.Bytes(kind)[from[(int)kind]..];
            for (int length = 0; length < Math.Min(bytes.Length, 4096); length++)
            {
                var sink = new StreamFeeder.CollectingSink();
                var parser = Http2Protocol.Create(Http2Capture.Options, sink, capture.Start());
                var data = bytes.AsSpan(0, length);
                // Parse as the stream does, up to the first NeedMoreData: the prefix ends inside a frame.
                int offset = 0;
                while (true)
                {
                    var result = parser.Parse(kind, data[offset..], new StreamContext(1, 2));
                    Assert.NotEqual(ParseStatus.Invalid, result.Status);
                    offset += result.Consumed;
                    if (result.Status == ParseStatus.NeedMoreData)
                    {
                        break;
                    }
                    Assert.True(result.Consumed > 0);
                }
                // One direction alone ends a stream only when the other side had nothing to send on it (a push,
                // the upgraded request) or by a RST_STREAM or GOAWAY in the prefix itself.
                Assert.All(sink.Messages.OfType<Http2Exchange>(), x => Assert.True(
                    x.Error is not null || x.PromisedBy is not null || (capture.IsUpgrade && x.StreamId == 1), Http2Capture.Summary(x)));
            }
        }
    }

    public static TheoryData<string> Cases() => [.. Http2Capture.All];
}
