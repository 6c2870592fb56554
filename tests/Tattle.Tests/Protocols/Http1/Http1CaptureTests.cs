using System.IO.Compression;
using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http;
using Tattle.Protocols.Http1;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Http1;

/// <summary>Real connections (curl, nginx, python's http.server) replayed through the parser.</summary>
public sealed class Http1CaptureTests(ITestOutputHelper output)
{
    private static readonly ParserOptions Capture = new() { BodyLimit = 1 << 20 };

    private static List<HttpExchange> Exchanges(StreamFeeder feeder) => [.. feeder.Messages.Cast<HttpExchange>()];

    private static string Text(ReadOnlyMemory<byte> body) => Encoding.UTF8.GetString(body.Span);

    private static string? Header(HttpMessageInfo m, string name) =>
        m.Headers.FirstOrDefault(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    private List<HttpExchange> Run(string name, ParserOptions? options = null)
    {
        var feeder = Http1Capture.Load(name).Replay(options ?? Capture);
        var exchanges = Exchanges(feeder);
        foreach (var x in exchanges)
        {
            output.WriteLine(Http1Capture.Summary(x));
        }
        Assert.Equal(0, feeder.Dropped(MessageKind.Request));
        Assert.Equal(0, feeder.Dropped(MessageKind.Response));
        // Every recorded connection ran to its end: nothing is cut short, and every exchange has both sides.
        Assert.All(exchanges, x => Assert.False(x.Request!.Truncated || x.Response!.Truncated, Http1Capture.Summary(x)));
        return exchanges;
    }

    [Fact]
    public void KeepAliveCarriesTwoExchangesInOrder()
    {
        var x = Run("keepalive");
        Assert.Equal(2, x.Count);
        Assert.Equal(("GET", "/a.txt", 200, 7L, "file a\n"), (x[0].Request!.Method, x[0].Request!.Target, x[0].Response!.Status, x[0].Response!.BodyBytes, Text(x[0].Response!.Body)));
        Assert.Equal(("GET", "/b.txt", 200, 24L), (x[1].Request!.Method, x[1].Request!.Target, x[1].Response!.Status, x[1].Response!.BodyBytes));
        Assert.StartsWith("127.0.0.1:", x[0].Request!.Host);
        Assert.Equal(["Host", "User-Agent", "Accept"], x[0].Request!.Headers.Select(h => h.Name));
        Assert.Equal("HTTP/1.1", x[0].Response!.Version);
        Assert.Equal("OK", x[0].Response!.Reason);
        Assert.Equal(84, x[0].Request!.HeadBytes);
        Assert.Equal(0, x[0].Request!.BodyBytes);

        // Recv 1 is the first request (t = 1 µs), recv 2 its response (t = 2 µs); each ends half a step later.
        Assert.Equal((1_000L, 1_500L), (x[0].Request!.StartNs, x[0].Request!.EndNs));
        Assert.Equal((2_000L, 2_500L), (x[0].Response!.StartNs, x[0].Response!.EndNs));
        Assert.Equal((1_000L, 2_500L), (x[0].StartNs, x[0].EndNs));
        Assert.Equal((3_000L, 4_500L), (x[1].StartNs, x[1].EndNs));
    }

    [Fact]
    public void HeadResponseHasNoBodyDespiteContentLength()
    {
        var x = Assert.Single(Run("head"));
        Assert.Equal("HEAD", x.Request!.Method);
        Assert.Equal("7", Header(x.Response!, "Content-Length"));
        Assert.Equal(0, x.Response!.BodyBytes);
        Assert.Equal(Http1Capture.Load("head").Responses.Length, x.Response!.HeadBytes);
        // Complete at its head's end (recv 2), not at the close.
        Assert.Equal(2_500, x.EndNs);
    }

    [Fact]
    public void NotModifiedHasNoBody()
    {
        var x = Assert.Single(Run("notmodified"));
        Assert.Equal("Sun, 13 Sep 2020 12:26:40 GMT", Header(x.Request!, "If-Modified-Since"));
        Assert.Equal((304, "Not Modified", 0L), (x.Response!.Status, x.Response!.Reason, x.Response!.BodyBytes));
    }

    [Fact]
    public void GzipChunkedBodyIsDechunkedIntoTheOriginalFile()
    {
        var capture = Http1Capture.Load("gzip_chunked");
        var x = Assert.Single(Run("gzip_chunked"));
        var r = x.Response!;
        Assert.True(r.Chunked);
        Assert.Equal("gzip", r.ContentEncoding);
        Assert.Equal(capture.Responses.Length, r.HeadBytes + r.BodyBytes);
        Assert.Contains("gzip", Header(x.Request!, "Accept-Encoding"));

        using var gz = new GZipStream(new MemoryStream(r.Body.ToArray()), CompressionMode.Decompress);
        using var text = new StreamReader(gz);
        string expected = string.Concat(Enumerable.Range(0, 3000).Select(i => $"line {i:D6} of a text file that gzip will squeeze\n"));
        Assert.Equal(expected, text.ReadToEnd());
    }

    [Fact]
    public void PipelinedRequestsPairFirstInFirstOut()
    {
        var x = Run("pipelined");
        Assert.Equal(["/a.txt 200 7", "/b.txt 200 24", "/missing 404 153"],
            x.Select(e => $"{e.Request!.Target} {e.Response!.Status} {e.Response!.BodyBytes}"));
        Assert.Equal("close", Header(x[2].Request!, "Connection"));
        // All three requests came in one recv: they share its time; responses follow.
        Assert.All(x, e => Assert.True(e.Response!.StartNs >= e.Request!.EndNs));
    }

    [Fact]
    public void CredentialsAndSecretQueryParametersAreRedacted()
    {
        var q = Assert.Single(Run("credentials")).Request!;
        Assert.Equal("/a.txt?access_token=REDACTED&page=2", q.Target);
        Assert.Equal("REDACTED", Header(q, "Authorization"));
        Assert.Equal("REDACTED", Header(q, "Cookie"));
        Assert.Equal("*/*", Header(q, "Accept"));

        var plain = Assert.Single(Run("credentials", Capture with { Redact = false })).Request!;
        Assert.Equal("/a.txt?access_token=xyz&page=2", plain.Target);
        Assert.Equal("Basic YWxpY2U6aHVudGVyMg==", Header(plain, "Authorization"));
    }

    [Fact]
    public void AbsoluteFormTargetNamesTheHostAndLosesItsUserinfo()
    {
        var x = Assert.Single(Run("absolute_form"));
        Assert.Equal("http://REDACTED@localhost/a.txt?password=REDACTED&q=1", x.Request!.Target);
        Assert.Equal("localhost", x.Request!.Host);
        Assert.Equal("REDACTED", Header(x.Request!, "X-Api-Key"));
        Assert.Equal(400, x.Response!.Status);
    }

    [Fact]
    public void ChunkedResponseWithExtensionsAndTrailer()
    {
        var capture = Http1Capture.Load("chunked_trailer");
        var r = Assert.Single(Run("chunked_trailer")).Response!;
        Assert.True(r.Chunked);
        Assert.Equal("hello, chunked world\n", Text(r.Body));
        Assert.Equal([new HttpHeader("X-Checksum", "abc123")], r.Trailers);
        Assert.Equal(capture.Responses.Length, r.HeadBytes + r.BodyBytes);
    }

    [Fact]
    public void PostBodyIsCapturedUpToTheLimit()
    {
        var x = Assert.Single(Run("post"));
        Assert.Equal(("POST", 24L, "{\"name\":\"tattle\",\"n\":42}"), (x.Request!.Method, x.Request!.BodyBytes, Text(x.Request!.Body)));
        Assert.Equal((201, "got 24 bytes\n", "REDACTED"), (x.Response!.Status, Text(x.Response!.Body), Header(x.Response!, "Set-Cookie")));

        var sizesOnly = Assert.Single(Run("post", ParserOptions.Default));
        Assert.Equal(24, sizesOnly.Request!.BodyBytes);
        Assert.True(sizesOnly.Request!.Body.IsEmpty);

        var capped = Assert.Single(Run("post", new ParserOptions { BodyLimit = 5 }));
        Assert.Equal("{\"nam", Text(capped.Request!.Body));
        Assert.Equal(24, capped.Request!.BodyBytes);
    }

    [Fact]
    public void ContinueIsInterimAndTheFinalResponsePairs()
    {
        var x = Assert.Single(Run("continue"));
        Assert.Equal([100], x.Interim);
        Assert.Equal(2000, x.Request!.BodyBytes);
        Assert.Equal("100-continue", Header(x.Request!, "Expect"));
        Assert.Equal((201, "got 2000 bytes\n"), (x.Response!.Status, Text(x.Response!.Body)));
        // The body went after the 100 (recv 3); the request ended then, the exchange at the final response.
        Assert.Equal(3_500, x.Request!.EndNs);
        Assert.Equal(5_500, x.EndNs);
    }

    [Fact]
    public void ChunkedRequestBodyIsDechunked()
    {
        var capture = Http1Capture.Load("chunked_request");
        var x = Assert.Single(Run("chunked_request"));
        Assert.True(x.Request!.Chunked);
        Assert.Equal(new string('y', 300), Text(x.Request!.Body));
        Assert.Equal(capture.Requests.Length, x.Request!.HeadBytes + x.Request!.BodyBytes);
        Assert.Equal("got 300 bytes\n", Text(x.Response!.Body));
    }

    [Fact]
    public void ResponseWithoutLengthEndsAtTheClose()
    {
        var x = Assert.Single(Run("close_delimited"));
        var r = x.Response!;
        Assert.Equal(("HTTP/1.0", true, false), (r.Version, r.EndedAtClose, r.Truncated));
        Assert.Equal(3 * 52, r.BodyBytes);
        Assert.EndsWith("line 2 of a body that ends when the connection does\n", Text(r.Body));
    }

    [Fact]
    public void CloseDelimitedResponseCompletesOnEndOfStreamWithoutOnClose()
    {
        var capture = Http1Capture.Load("close_delimited");
        var feeder = new StreamFeeder(Http1Protocol.Info);
        long now = capture.Replay(feeder);
        Assert.Empty(feeder.Messages);
        feeder.Feed(MessageKind.Response, [], now, now + 7, endOfStream: true);
        var x = (HttpExchange)Assert.Single(feeder.Messages);
        Assert.True(x.Response!.EndedAtClose);
        Assert.Equal(now + 7, x.EndNs);
    }

    [Fact]
    public void UpgradeReportsTheExchangeAndStops()
    {
        var capture = Http1Capture.Load("upgrade");
        var feeder = capture.Replay(Capture);
        var x = (HttpExchange)Assert.Single(feeder.Messages);
        Assert.Equal(("websocket", 101), (x.Upgrade, x.Response!.Status));
        Assert.Equal("REDACTED", Header(x.Request!, "Sec-WebSocket-Key"));
        Assert.True(feeder.Stopped);
        Assert.Equal(ParseStatus.EndOfStream, feeder.Statuses[^1]);
        // The websocket frame after the 101's head is not read as HTTP.
        Assert.Equal(capture.Responses.Length - 7, x.Response!.HeadBytes);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RandomSplitsGiveTheSameExchanges(string name)
    {
        var capture = Http1Capture.Load(name);
        string[] whole = [.. capture.Replay(Capture).Messages.Select(Http1Capture.Summary)];
        Assert.NotEmpty(whole);
        for (int seed = 0; seed < 60; seed++)
        {
            var random = new Random(seed);
            int maxSegment = seed % 3 == 0 ? 3 : seed % 3 == 1 ? 40 : 600;
            var feeder = capture.Replay(Capture, random, maxSegment);
            Assert.Equal(whole, feeder.Messages.Select(Http1Capture.Summary));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ByteAtATimeGivesTheSameExchangesAndBuffersOnlyHeads(string name)
    {
        var capture = Http1Capture.Load(name);
        string[] whole = [.. capture.Replay(Capture).Messages.Select(Http1Capture.Summary)];
        var feeder = capture.Replay(Capture, new Random(1), maxSegment: 1);
        Assert.Equal(whole, feeder.Messages.Select(Http1Capture.Summary));
        // The longest head recorded is 310 bytes; bodies (8 KB of gzip among them) are consumed as they come.
        Assert.InRange(feeder.MaxBuffered(MessageKind.Response), 1, 320);
        Assert.InRange(feeder.MaxBuffered(MessageKind.Request), 1, 180);
    }

    public static TheoryData<string> Cases() => [.. Http1Capture.All];

    [Theory]
    [InlineData("head", MessageKind.Request)]
    [InlineData("post", MessageKind.Request)]
    [InlineData("continue", MessageKind.Request)]
    [InlineData("chunked_request", MessageKind.Request)]
    [InlineData("absolute_form", MessageKind.Request)]
    [InlineData("head", MessageKind.Response)]
    [InlineData("notmodified", MessageKind.Response)]
    [InlineData("gzip_chunked", MessageKind.Response)]
    [InlineData("chunked_trailer", MessageKind.Response)]
    [InlineData("post", MessageKind.Response)]
    [InlineData("close_delimited", MessageKind.Response)]
    public void EveryPrefixOfAMessageNeedsMoreData(string name, MessageKind kind)
    {
        // Each of these streams is one message. A fresh parser sees each prefix once, as after a restart.
        byte[] message = Http1Capture.Load(name).Bytes(kind);
        var request = "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
        for (int cut = 0; cut < message.Length; cut++)
        {
            var sink = new StreamFeeder.CollectingSink();
            var parser = Http1Protocol.Info.Create(Capture, sink);
            if (kind == MessageKind.Response && name == "head")
            {
                Assert.Equal(ParseStatus.Success, parser.Parse(MessageKind.Request, request, new StreamContext(0, 0)).Status);
            }
            var result = parser.Parse(kind, message.AsSpan(0, cut), new StreamContext(1, 1));
            Assert.True(result.Status == ParseStatus.NeedMoreData, $"{name} cut at {cut}: {result}");
            Assert.InRange(result.Consumed, 0, cut);
            Assert.Empty(sink.Messages);
        }
    }
}
