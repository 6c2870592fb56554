using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http;
using Tattle.Protocols.Http1;
using Tattle.Tests.Protocols.Support;
using Tattle.Tests.Support;
using static Tattle.Protocols.Common.MessageKind;

namespace Tattle.Tests.Protocols.Http1;

/// <summary>The parser on hand-written bytes: the grammar's edges, framing rules, pairing, gaps, limits.</summary>
public sealed class Http1ParserTests
{
    private long _now;

    private static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    private StreamFeeder Feeder(ParserOptions? options = null) => new(Http1Protocol.Info, options);

    /// <summary>Feeds one segment at the next microsecond.</summary>
    private void Send(StreamFeeder feeder, MessageKind kind, string text)
    {
        _now += 1_000;
        feeder.Feed(kind, B(text), _now, _now + 100);
    }

    private static List<HttpExchange> Exchanges(StreamFeeder feeder) => [.. feeder.Messages.Cast<HttpExchange>()];

    private static ParseResult ParseOnce(MessageKind kind, string text, List<ProtocolMessage>? reported = null)
    {
        var sink = new StreamFeeder.CollectingSink();
        var result = Http1Protocol.Info.Create(ParserOptions.Default, sink).Parse(kind, B(text), new StreamContext(1, 2));
        reported?.AddRange(sink.Messages);
        return result;
    }

    [Theory]
    [InlineData("GET  / HTTP/1.1\r\n\r\n")]
    [InlineData("GET / HTTP/2.0\r\n\r\n")]
    [InlineData("GET / HTTP/1.1 \r\n\r\n")]
    [InlineData("GET /a\0b HTTP/1.1\r\n\r\n")]
    [InlineData("G@T / HTTP/1.1\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nNoColon\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nName : v\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\n: v\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\n X: v\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n")]
    [InlineData("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")]
    [InlineData("\r\x00")]
    public void MalformedRequestHeadsAreInvalidAndConsumeNothing(string text)
    {
        var reported = new List<ProtocolMessage>();
        Assert.Equal(ParseResult.Invalid, ParseOnce(Request, text, reported));
        Assert.Empty(reported);
    }

    [Theory]
    [InlineData("HTTP/1.1 20 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 200OK\r\n\r\n")]
    [InlineData("HTTP/1.1 099 Odd\r\n\r\n")]
    [InlineData("HTTP/1.1 2x0 OK\r\n\r\n")]
    [InlineData("HTTP/1.2 200 OK\r\n\r\n")]
    [InlineData("HTTP/2 200\r\n\r\n")]
    [InlineData("HTTP/1.1  200 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")]
    [InlineData("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")]
    public void MalformedResponseHeadsAreInvalid(string text) => Assert.Equal(ParseResult.Invalid, ParseOnce(Response, text));

    [Fact]
    public void HeadsOverTheLimitsAreInvalid()
    {
        string longValue = "GET / HTTP/1.1\r\nX-Big: " + new string('a', HttpSyntax.MaxHeadBytes) + "\r\n\r\n";
        Assert.Equal(ParseResult.Invalid, ParseOnce(Request, longValue));
        // Cut short of its end, a head already longer than the limit is refused rather than waited for.
        Assert.Equal(ParseResult.Invalid, ParseOnce(Request, longValue[..(HttpSyntax.MaxHeadBytes + 10)]));
        Assert.Equal(ParseStatus.NeedMoreData, ParseOnce(Request, longValue[..(HttpSyntax.MaxHeadBytes - 10)]).Status);

        string Fields(int n) => "GET / HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, n).Select(i => $"X-{i}: v\r\n")) + "\r\n";
        Assert.Equal(ParseStatus.Success, ParseOnce(Request, Fields(HttpSyntax.MaxHeaders)).Status);
        Assert.Equal(ParseResult.Invalid, ParseOnce(Request, Fields(HttpSyntax.MaxHeaders + 1)));
    }

    [Fact]
    public void LenientWhereTheRfcAllowsIt()
    {
        var f = Feeder();
        // Bare LF line ends (RFC 9112 section 2.2), an empty line before the request, an obs-fold, a repeated
        // Content-Length that agrees, a status line without a reason, UTF-8 in a value.
        Send(f, Request, "\r\nPOST /x HTTP/1.0\nHost: h\nX-Folded: a\r\n \t b\r\nContent-Length: 2, 2\nContent-Length: 2\n\nok");
        Send(f, Response, "HTTP/1.0 200\r\nX-Name: caf\u00c3\u00a9\r\nContent-Length: 0\r\n\r\n");
        var x = Assert.Single(Exchanges(f));
        Assert.Equal(("POST", "/x", "HTTP/1.0", "h", 2L), (x.Request!.Method, x.Request.Target, x.Request.Version, x.Request.Host, x.Request.BodyBytes));
        Assert.Contains(new HttpHeader("X-Folded", "a b"), x.Request.Headers);
        Assert.Equal((200, ""), (x.Response!.Status, x.Response.Reason));
        Assert.Contains(new HttpHeader("X-Name", "café"), x.Response.Headers);
        Assert.Equal(ParseStatus.Ignored, f.Statuses[0]);
    }

    [Fact]
    public void PipelinedHeadAndNoContentResponsesKnowTheyHaveNoBody()
    {
        var f = Feeder();
        Send(f, Request, "HEAD /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nDELETE /3 HTTP/1.1\r\n\r\nGET /4 HTTP/1.1\r\n\r\n");
        Send(f, Response,
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" +
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n" +
            "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n" +
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        Assert.Equal(["HEAD /1 200 0", "GET /2 304 0", "DELETE /3 204 0", "GET /4 200 5"],
            Exchanges(f).Select(x => $"{x.Request!.Method} {x.Request.Target} {x.Response!.Status} {x.Response.BodyBytes}"));
    }

    [Fact]
    public void ResponseWithTransferEncodingOtherThanChunkedRunsToTheClose()
    {
        var f = Feeder();
        Send(f, Request, "GET / HTTP/1.1\r\n\r\n");
        Send(f, Response, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabcdef");
        Assert.Empty(f.Messages);
        f.Close(_now + 1);
        var r = Assert.Single(Exchanges(f)).Response!;
        Assert.Equal((true, 6L, false), (r.EndedAtClose, r.BodyBytes, r.Chunked));
    }

    [Fact]
    public void InterimResponsesAreRecordedNotPaired()
    {
        var f = Feeder();
        Send(f, Request, "POST /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
        Send(f, Response, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n");
        Send(f, Request, "abc");
        Send(f, Response, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        var x = Assert.Single(Exchanges(f));
        Assert.Equal([100, 103], x.Interim);
        Assert.Equal((3L, 200), (x.Request!.BodyBytes, x.Response!.Status));
    }

    [Fact]
    public void ResponseBeforeTheRequestEndsWaitsForIt()
    {
        // A server may answer (413, say) before the request body is done; the exchange is reported once both are.
        var f = Feeder();
        Send(f, Request, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345");
        Send(f, Response, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n");
        Assert.Empty(f.Messages);
        Send(f, Request, "67890");
        var x = Assert.Single(Exchanges(f));
        Assert.Equal((10L, 413), (x.Request!.BodyBytes, x.Response!.Status));
        Assert.Equal(x.Response.EndNs, x.EndNs);
    }

    [Fact]
    public void UpgradeNamedOnlyByTheRequestIsReported()
    {
        var f = Feeder();
        Send(f, Request, "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
        Send(f, Response, "HTTP/1.1 101 Switching Protocols\r\n\r\nPRI * HTTP/2.0\r\n");
        var x = Assert.Single(Exchanges(f));
        Assert.Equal("h2c", x.Upgrade);
        Assert.True(f.Stopped);
        Assert.Equal(ParseResult.EndOfStream(0), f.Parser.Parse(Request, B("GET / HTTP/1.1\r\n\r\n"), default));
    }

    [Fact]
    public void ConnectTunnelStopsParsingAndHoldsTheClientsEarlyBytes()
    {
        var f = Feeder();
        Send(f, Request, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01\x00\x05hello");
        // The TLS bytes sent before the answer are held, not refused as a bad request.
        Assert.Equal([ParseStatus.Success, ParseStatus.NeedMoreData], f.Statuses);
        Assert.Equal(0, f.Dropped(Request));
        Send(f, Response, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00\x10");
        var x = Assert.Single(Exchanges(f));
        Assert.Equal(("CONNECT", "example.com:443", 200), (x.Request!.Method, x.Request.Target, x.Response!.Status));
        Assert.Null(x.Upgrade);
        Assert.True(f.Stopped);
    }

    [Fact]
    public void RefusedConnectKeepsParsing()
    {
        var f = Feeder();
        Send(f, Request, "CONNECT example.com:443 HTTP/1.1\r\n\r\n");
        Send(f, Response, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
        Send(f, Request, "GET http://example.com/ HTTP/1.1\r\n\r\n");
        Send(f, Response, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal(["CONNECT 407", "GET 200"], Exchanges(f).Select(x => $"{x.Request!.Method} {x.Response!.Status}"));
        Assert.False(f.Stopped);
    }

    [Fact]
    public void ResponseWithoutATracedRequestIsReportedAlone()
    {
        var f = Feeder();
        Send(f, Response, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
        var x = Assert.Single(Exchanges(f));
        Assert.Null(x.Request);
        Assert.Equal((x.Response!.StartNs, x.Response.EndNs), (x.StartNs, x.EndNs));
    }

    [Fact]
    public void KeepAliveResponsesReuseOnlyValuesThatRepeatExactly()
    {
        // The parser reuses the previous message's string for a value whose bytes are the same at the same position.
        var f = Feeder(new ParserOptions { Redact = false });
        string[] dates = ["Mon, 30 Nov 2026 10:00:00 GMT", "Mon, 30 Nov 2026 10:00:01 GMT", "Mon, 30 Nov 2026 10:00:01 GMT"];
        string[] tags = ["\"a1\"", "\"a1\"", "\"caf\u00e9\""];
        for (int i = 0; i < dates.Length; i++)
        {
            Send(f, Request, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
            Send(f, Response, $"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: {dates[i]}\r\nETag: {tags[i]}\r\n" +
                (i == 2 ? "Vary: x\r\nServer: nginx\r\n" : "") + "Content-Length: 0\r\n\r\n");
        }
        var x = Exchanges(f);
        Assert.Equal(3, x.Count);
        for (int i = 0; i < x.Count; i++)
        {
            var h = x[i].Response!.Headers;
            Assert.Equal(("Server", "nginx"), (h[0].Name, h[0].Value));
            Assert.Equal(dates[i], h[1].Value);
            Assert.Equal(tags[i], h[2].Value); // a non-ASCII byte that is not UTF-8 reads as ISO-8859-1
        }
        Assert.Same(x[0].Response!.Headers[0].Value, x[1].Response!.Headers[0].Value);
        Assert.Same(x[1].Response!.Headers[1].Value, x[2].Response!.Headers[1].Value);
        Assert.Equal(["Server", "Date", "ETag", "Vary", "Server", "Content-Length"], x[2].Response!.Headers.Select(h => h.Name));
        Assert.Equal("x", x[2].Response!.Headers[3].Value);
        Assert.Equal("0", x[2].Response!.Headers[5].Value);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AKeepAliveConnection_RefillsItsExchangeForASinkThatConsumesAtOnce_AndAllocatesForOneThatKeeps(bool consumesAtOnce)
    {
        var f = new StreamFeeder(Http1Protocol.Info, consumesAtOnce: consumesAtOnce);
        var handed = new List<(HttpExchange Exchange, HttpRequest? Request, HttpResponse? Response)>();
        f.Sink.OnHanded = m => handed.Add(((HttpExchange)m, ((HttpExchange)m).Request, ((HttpExchange)m).Response));
        string[] paths = ["/a", "/b?x=1", "/c", "/d", "/e"];
        int[] statuses = [200, 404, 204, 204, 204];
        // Two requests pipelined, then three alone: the pending queue's ring of four slots comes back to the first.
        Send(f, Request, $"GET {paths[0]} HTTP/1.1\r\nHost: h\r\n\r\nPOST {paths[1]} HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
        Send(f, Response, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        for (int i = 2; i < paths.Length; i++)
        {
            Send(f, Request, $"GET {paths[i]} HTTP/1.1\r\n\r\n");
            Send(f, Response, "HTTP/1.1 204 No Content\r\n\r\n");
        }
        // Then a response whose request came before tracing.
        Send(f, Response, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

        var x = Exchanges(f);
        Assert.Equal(6, x.Count);
        for (int i = 0; i < paths.Length; i++)
        {
            Assert.Equal((paths[i], statuses[i]), (x[i].Request!.Target, x[i].Response!.Status));
            Assert.Equal((x[i].Request!.StartNs, x[i].Response!.EndNs), (x[i].StartNs, x[i].EndNs));
        }
        Assert.Equal((2L, 3L, "Host"), (x[1].Request!.BodyBytes, x[0].Response!.BodyBytes, x[0].Request!.Headers[0].Name));
        Assert.Equal(("POST", "h"), (x[1].Request!.Method, x[0].Request!.Host));
        Assert.Null(x[2].Request!.Host);
        Assert.Empty(x[2].Request!.Headers);
        Assert.Null(x[5].Request);
        Assert.Equal(200, x[5].Response!.Status);

        Assert.Equal(6, handed.Count);
        if (consumesAtOnce)
        {
            Assert.All(handed, h => Assert.Same(handed[0].Exchange, h.Exchange));
            Assert.Same(handed[0].Request, handed[4].Request); // the first slot's request, refilled
            Assert.Same(handed[0].Response, handed[4].Response);
            Assert.NotSame(handed[0].Request, handed[1].Request);
            Assert.Equal(paths[4], handed[0].Request!.Target);
        }
        else
        {
            Assert.Equal(6, handed.Select(h => h.Exchange).Distinct(ReferenceEqualityComparer.Instance).Count());
            Assert.NotSame(handed[0].Request, handed[4].Request);
            Assert.Equal(paths[0], handed[0].Request!.Target); // kept as reported
        }
    }

    [Fact]
    public void AnUpgradedRequest_IsTheSwitchsOwnCopy_WhenTheParserRefillsItsObjects()
    {
        var f = new StreamFeeder(Http1Protocol.Info, consumesAtOnce: true);
        HttpRequest? reported = null;
        f.Sink.OnHanded = m => reported = ((HttpExchange)m).Request;
        Send(f, Request, "GET /up HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
        Send(f, Response, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n");
        Assert.NotNull(reported);
        var upgraded = Assert.IsType<HttpExchange>(f.Parser.Switch!.Upgraded);
        Assert.NotSame(reported, upgraded.Request);
        Assert.Equal(("/up", "h"), (upgraded.Request!.Target, upgraded.Request.Host));
    }

    [Fact]
    public void ARepeatedTarget_IsRedactedOrNotAsEachParserAsks_AndNamesItsHostEachTime()
    {
        // The last target read is remembered on the thread: parsers with and without redaction share it.
        var redacting = Feeder();
        var plain = Feeder(new ParserOptions { Redact = false });
        const string target = "http://user:pw@api.example/v1?token=abc&page=2";
        foreach (var f in new[] { redacting, plain, redacting, redacting, plain })
        {
            Send(f, Request, $"GET {target} HTTP/1.1\r\nHost: other.example\r\n\r\n");
            Send(f, Response, "HTTP/1.1 204 No Content\r\n\r\n");
        }
        Assert.All(Exchanges(redacting), e => Assert.Equal("http://REDACTED@api.example/v1?token=REDACTED&page=2", e.Request!.Target));
        Assert.All(Exchanges(plain), e => Assert.Equal(target, e.Request!.Target));
        Assert.All(Exchanges(redacting).Concat(Exchanges(plain)), e => Assert.Equal("api.example", e.Request!.Host));
        Assert.Equal(5, Exchanges(redacting).Count + Exchanges(plain).Count);
    }

    [Fact]
    public void ARepeatedFieldBlockGivesTheSameFieldsAndFramingAsItsFirstParse()
    {
        // The same block again takes the first parse's fields, host, encoding and body framing; any changed byte
        // (a length, a coding, a target naming its own host, an interim response between) is parsed anew.
        var f = Feeder(new ParserOptions { Redact = false });
        const string block = "Host: a.example\r\nAccept-Encoding: gzip\r\n\r\n";
        (string Request, string Response, string Body)[] steps =
        [
            ($"GET /1 HTTP/1.1\r\n{block}", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", "abc"),
            ($"GET /2 HTTP/1.1\r\n{block}", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", "def"),
            ($"GET http://b.example/3 HTTP/1.1\r\n{block}", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", "ghijk"),
            ($"GET /4 HTTP/1.1\r\n{block}", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", "lmnop"),
            ($"GET /5 HTTP/1.1\r\n{block}", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "2\r\nqr\r\n0\r\n\r\n"),
            ($"GET /6 HTTP/1.1\r\n{block}", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "1\r\ns\r\n0\r\n\r\n"),
            ($"HEAD /7 HTTP/1.1\r\n{block}", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", ""),
        ];
        foreach (var (request, response, body) in steps)
        {
            Send(f, Request, request);
            Send(f, Response, response + body);
        }
        var x = Exchanges(f);
        Assert.Equal(steps.Length, x.Count);
        Assert.Equal(["a.example", "a.example", "b.example", "a.example", "a.example", "a.example", "a.example"], x.Select(e => e.Request!.Host));
        Assert.Equal(["/1", "/2", "http://b.example/3", "/4", "/5", "/6", "/7"], x.Select(e => e.Request!.Target));
        Assert.All(x, e => Assert.Equal(["Host", "Accept-Encoding"], e.Request!.Headers.Select(h => h.Name)));
        Assert.All(x, e => Assert.Equal("gzip", e.Request!.Headers[1].Value));
        Assert.Equal([3L, 3, 5, 5, 12, 11, 0], x.Select(e => e.Response!.BodyBytes)); // chunked: with its framing
        Assert.Equal(["gzip", "gzip", "gzip", "gzip", null, null, "gzip"], x.Select(e => e.Response!.ContentEncoding));
        Assert.Equal([false, false, false, false, true, true, false], x.Select(e => e.Response!.Chunked));
        Assert.Equal([100], x[3].Interim);
        Assert.All(x, e => Assert.False(e.Response!.Truncated));
        // Shared, not copied: a message whose block is the one before takes that message's array. A side's first
        // block is not remembered (a connection with one exchange keeps no copy), so the second one is parsed.
        Assert.NotSame(x[0].Request!.Headers, x[1].Request!.Headers);
        Assert.Same(x[1].Request!.Headers, x[2].Request!.Headers);
        Assert.Same(x[1].Request!.Headers, x[3].Request!.Headers);
        Assert.NotSame(x[0].Response!.Headers, x[1].Response!.Headers);
        Assert.Same(x[4].Response!.Headers, x[5].Response!.Headers);
    }

    [Fact]
    public void TwoConnections_ShareTheStringsOfValuesAndTargetsWithTheSameBytes()
    {
        // A server's fields repeat across its connections; a value decoded from the same ASCII bytes is one string.
        var a = Feeder(new ParserOptions { Redact = false });
        var b = Feeder(new ParserOptions { Redact = false });
        foreach (var f in new[] { a, b })
        {
            Send(f, Request, "GET /users/7?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
            Send(f, Response, "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nETag: \"6b1-264\"\r\nX-Caf: caf\u00e9\r\nContent-Length: 0\r\n\r\n");
        }
        var (x, y) = (Exchanges(a).Single(), Exchanges(b).Single());
        Assert.Same(x.Request!.Target, y.Request!.Target);
        Assert.Equal("/users/7?x=1", y.Request.Target);
        Assert.Same(x.Response!.Headers[0].Value, y.Response!.Headers[0].Value);
        Assert.Same(x.Response.Headers[1].Value, y.Response.Headers[1].Value);
        Assert.Equal("\"6b1-264\"", y.Response.Headers[1].Value);
        // Bytes that are not ASCII are decoded each time (they are not shared), and still read the same.
        Assert.Equal(x.Response.Headers[2].Value, y.Response.Headers[2].Value);
    }

    [Fact]
    public void WithoutHeaders_OnlyTheFieldsTheMessageNeedsAreKept()
    {
        // --stats: the route needs the host, the body its encoding, the protocol switch its Upgrade.
        var f = Feeder(new ParserOptions { Redact = false, Headers = false });
        Send(f, Request, "GET /ws HTTP/1.1\r\nhost: example.com\r\nUser-Agent: x\r\nHOST2: y\r\nupgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        Send(f, Response, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\nContent-Language: en\r\n\r\n");
        var x = Exchanges(f).Single();
        Assert.Equal("example.com", x.Request!.Host);
        Assert.Equal(["host", "upgrade"], x.Request.Headers.Select(h => h.Name));
        Assert.Equal("gzip", x.Response!.ContentEncoding);
        Assert.Equal(["Content-Encoding"], x.Response.Headers.Select(h => h.Name));
    }

    [Fact]
    public void ResponseThatBeganBeforeTheRequestDoesNotAnswerIt()
    {
        // The tracker may hand the directions over out of order; time says which request a response can answer.
        var sink = new StreamFeeder.CollectingSink();
        var parser = Http1Protocol.Info.Create(ParserOptions.Default, sink);
        parser.Parse(Request, B("GET /later HTTP/1.1\r\n\r\n"), new StreamContext(5_000, 5_000));
        parser.Parse(Response, B("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), new StreamContext(2_000, 2_000));
        parser.OnClose(9_000);
        var x = sink.Messages.Cast<HttpExchange>().ToList();
        Assert.Equal(2, x.Count);
        Assert.Null(x[0].Request);
        Assert.Null(x[1].Response);
        Assert.Equal("/later", x[1].Request!.Target);
    }

    [Fact]
    public void UnansweredAndCutShortRequestsAreReportedAtClose()
    {
        var f = Feeder();
        Send(f, Request, "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
        Assert.Empty(f.Messages);
        f.Close(99_000);
        var x = Exchanges(f);
        Assert.Equal(["/a False 0", "/b True 3"], x.Select(e => $"{e.Request!.Target} {e.Request.Truncated} {e.Request.BodyBytes}"));
        Assert.All(x, e => Assert.Null(e.Response));
        Assert.Equal(99_000, x[1].EndNs);
        Assert.Equal(x[0].Request!.EndNs, x[0].EndNs);
    }

    [Fact]
    public void ResponseCutShortByTheCloseIsTruncatedNotEndedAtClose()
    {
        var f = Feeder();
        Send(f, Request, "GET / HTTP/1.1\r\n\r\n");
        Send(f, Response, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n1234");
        f.Close(_now + 1);
        var r = Assert.Single(Exchanges(f)).Response!;
        Assert.Equal((true, false, 4L), (r.Truncated, r.EndedAtClose, r.BodyBytes));
    }

    [Fact]
    public void TimesComeFromTheCallsThatSawTheFirstAndLastBytes()
    {
        var sink = new StreamFeeder.CollectingSink();
        var parser = Http1Protocol.Info.Create(ParserOptions.Default, sink);
        byte[] request = B("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nok");
        Assert.Equal(ParseResult.NeedMoreData(), parser.Parse(Request, request.AsSpan(0, 8), new StreamContext(100, 150)));
        Assert.Equal(ParseResult.NeedMoreData(request.Length - 1), parser.Parse(Request, request.AsSpan(0, request.Length - 1), new StreamContext(100, 250)));
        Assert.Equal(ParseResult.Success(1), parser.Parse(Request, request.AsSpan(request.Length - 1), new StreamContext(300, 350)));
        parser.Parse(Response, B("HTTP/1.1 204 No Content\r\n\r\n"), new StreamContext(400, 450));
        var x = (HttpExchange)Assert.Single(sink.Messages);
        Assert.Equal((100L, 350L), (x.Request!.StartNs, x.Request.EndNs));
        Assert.Equal((400L, 450L), (x.Response!.StartNs, x.Response.EndNs));
        Assert.Equal((100L, 450L), (x.StartNs, x.EndNs));
    }

    [Fact]
    public void AbsurdChunkSizeRefusesTheRestAndReportsTheResponseCutShort()
    {
        var f = Feeder();
        Send(f, Request, "GET / HTTP/1.1\r\n\r\n");
        Send(f, Response, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nFFFFFFFFFFFFFFFFFF\r\n");
        Assert.Contains(ParseStatus.Invalid, f.Statuses);
        var r = Assert.Single(Exchanges(f)).Response!;
        Assert.Equal((true, true), (r.Chunked, r.Truncated));
        Assert.Equal("5\r\nhello\r\n".Length, r.BodyBytes);
    }

    [Theory]
    [InlineData("zz\r\n")]
    [InlineData("5\r\nhelloXX")]
    [InlineData("5 junk\r\n")]
    [InlineData("0\r\nNoColon\r\n\r\n")]
    public void MalformedChunkedFramingIsInvalid(string body)
    {
        var f = Feeder();
        Send(f, Request, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
        Assert.Contains(ParseStatus.Invalid, f.Statuses);
        f.Close(_now + 1);
        Assert.True(Assert.Single(Exchanges(f)).Request!.Truncated);
    }

    [Fact]
    public void ChunkedBodyWithoutTrailersAndWithBareLf()
    {
        var f = Feeder(new ParserOptions { BodyLimit = 100 });
        Send(f, Request, "GET / HTTP/1.1\r\n\r\n");
        Send(f, Response, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n");
        var r = Assert.Single(Exchanges(f)).Response!;
        Assert.Equal(("abc", 9L), (Encoding.ASCII.GetString(r.Body.Span), r.BodyBytes));
        Assert.Empty(r.Trailers);
    }

    [Fact]
    public void SecretsInUrlHeadersAndTrailersAreRedacted()
    {
        var f = Feeder();
        Send(f, Request, "GET / HTTP/1.1\r\nReferer: http://u:p@h/?session_token=t\r\n\r\n");
        Send(f, Response, "HTTP/1.1 302 Found\r\nLocation: /next?code=1&client_secret=s\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Auth-Token: t\r\nX-Fine: 1\r\n\r\n");
        var x = Assert.Single(Exchanges(f));
        Assert.Contains(new HttpHeader("Referer", "http://REDACTED@h/?session_token=REDACTED"), x.Request!.Headers);
        Assert.Contains(new HttpHeader("Location", "/next?code=1&client_secret=REDACTED"), x.Response!.Headers);
        Assert.Equal([new HttpHeader("X-Auth-Token", "REDACTED"), new HttpHeader("X-Fine", "1")], x.Response.Trailers);
    }

    [Theory]
    [InlineData("X-Amz-Signature: abc", "X-Amz-Signature", "REDACTED")]
    [InlineData("X-Amz-Credential: AKIA/x", "X-Amz-Credential", "REDACTED")]
    [InlineData("Session: s1", "Session", "REDACTED")]
    [InlineData("X-Forwarded-Access: Bearer abc.def", "X-Forwarded-Access", "Bearer REDACTED")]
    [InlineData("X-Upstream: basic YWxpY2U6cHc=", "X-Upstream", "basic REDACTED")]
    [InlineData("X-Id: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "X-Id", "REDACTED")]
    [InlineData("X-Fine: Bearer-less basic-ish", "X-Fine", "Bearer-less basic-ish")]
    public void CredentialsInAnyHeaderAreRedacted(string header, string name, string value)
    {
        var f = Feeder();
        Send(f, Request, $"GET /?pwd=1&sig=2 HTTP/1.1\r\n{header}\r\n\r\n");
        Send(f, Response, "HTTP/1.1 204 No Content\r\n\r\n");
        var x = Assert.Single(Exchanges(f));
        Assert.Equal("/?pwd=REDACTED&sig=REDACTED", x.Request!.Target);
        Assert.Contains(new HttpHeader(name, value), x.Request.Headers);
    }

    [Fact]
    public void TooManyUnansweredRequestsAreReportedOldestFirst()
    {
        var f = Feeder();
        int total = Http1Parser.MaxPending + 44;
        Send(f, Request, string.Concat(Enumerable.Range(0, total).Select(i => $"GET /{i} HTTP/1.1\r\n\r\n")));
        Assert.Equal(44, f.Messages.Count);
        f.Close(_now + 1);
        Assert.Equal(Enumerable.Range(0, total).Select(i => $"/{i}"), Exchanges(f).Select(x => x.Request!.Target));
    }

    [Fact]
    public void GapInsideAContentLengthBodyIsAbsorbedAndNothingIsBuffered()
    {
        // nginx sends file bodies with sendfile: the bytes are counted, never seen.
        const int mb = 1 << 20;
        var f = Feeder();
        Send(f, Request, "GET /big HTTP/1.1\r\n\r\n");
        Send(f, Response, $"HTTP/1.1 200 OK\r\nContent-Length: {5 * mb}\r\n\r\n");
        var chunk = new byte[64 * 1024];
        for (int i = 0; i < 16; i++)
        {
            f.Feed(Response, chunk, _now, _now);
        }
        Assert.True(f.Gap(Response, 3 * mb, _now));
        for (int i = 0; i < 16; i++)
        {
            f.Feed(Response, chunk, _now, _now);
        }
        Send(f, Request, "GET /next HTTP/1.1\r\n\r\n");
        Send(f, Response, "HTTP/1.1 204 No Content\r\n\r\n");
        var x = Exchanges(f);
        Assert.Equal(2, x.Count);
        Assert.Equal((5L * mb, 3L * mb, false), (x[0].Response!.BodyBytes, x[0].Response!.UnseenBytes, x[0].Response!.Truncated));
        Assert.Equal(204, x[1].Response!.Status);
        Assert.True(f.MaxBuffered(Response) <= 64 * 1024);
    }

    [Fact]
    public void GapThatEndsABodyExactlyCompletesIt()
    {
        var f = Feeder();
        Send(f, Request, "GET / HTTP/1.1\r\n\r\n");
        Send(f, Response, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n1234");
        Assert.True(f.Gap(Response, 6, _now + 5));
        var r = Assert.Single(Exchanges(f)).Response!;
        Assert.Equal((10L, 6L, _now + 5), (r.BodyBytes, r.UnseenBytes, r.EndNs));
    }

    [Fact]
    public void GapPastTheEndOfABodyCompletesItAndResyncs()
    {
        var f = Feeder();
        Send(f, Request, "GET /1 HTTP/1.1\r\n\r\n");
        Send(f, Response, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n1234");
        Assert.False(f.Gap(Response, 20, _now));
        Send(f, Request, "GET /2 HTTP/1.1\r\n\r\n");
        Send(f, Response, "ders: lost\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        var x = Exchanges(f);
        Assert.Equal(["/1 10 6", "/2 2 0"], x.Select(e => $"{e.Request!.Target} {e.Response!.BodyBytes} {e.Response.UnseenBytes}"));
    }

    [Fact]
    public void GapInsideAChunkedBodyCutsTheMessageAndTheNextIsRecovered()
    {
        var f = Feeder();
        Send(f, Request, "GET /1 HTTP/1.1\r\n\r\n");
        Send(f, Response, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
        Assert.False(f.Gap(Response, 100, _now));
        Send(f, Response, "lo\r\n0\r\n\r\n");
        Send(f, Request, "GET /2 HTTP/1.1\r\n\r\n");
        Send(f, Response, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        var x = Exchanges(f);
        Assert.Equal(2, x.Count);
        Assert.Equal(("/1", true, 100L), (x[0].Request!.Target, x[0].Response!.Truncated, x[0].Response!.UnseenBytes));
        Assert.Equal(("/2", 2L), (x[1].Request!.Target, x[1].Response!.BodyBytes));
    }

    [Fact]
    public void GapInsideABodyThatRunsToTheCloseIsAbsorbed()
    {
        var f = Feeder();
        Send(f, Request, "GET / HTTP/1.0\r\n\r\n");
        Send(f, Response, "HTTP/1.0 200 OK\r\n\r\nabc");
        Assert.True(f.Gap(Response, 1000, _now));
        Send(f, Response, "def");
        f.Close(_now + 1);
        var r = Assert.Single(Exchanges(f)).Response!;
        Assert.Equal((1006L, 1000L, true), (r.BodyBytes, r.UnseenBytes, r.EndedAtClose));
    }

    [Fact]
    public void GapInARequestHeadLosesThatRequestOnly()
    {
        var capture = Http1Capture.Load("keepalive");
        var f = Feeder();
        var (requests, responses) = (capture.Requests, capture.Responses);
        f.Feed(Request, requests.AsSpan(0, 30), 1_000, 1_000);
        Assert.False(f.Gap(Request, 10, 1_100));
        f.Feed(Request, requests.AsSpan(40, 44), 1_200, 1_200);
        f.Feed(Response, responses.AsSpan(0, 242), 2_000, 2_000);
        f.Feed(Request, requests.AsSpan(84), 3_000, 3_000);
        f.Feed(Response, responses.AsSpan(242), 4_000, 4_000);
        var x = Exchanges(f);
        Assert.Equal(2, x.Count);
        // The first response answers a request nobody saw whole; the second exchange is intact.
        Assert.Null(x[0].Request);
        Assert.Equal(7, x[0].Response!.BodyBytes);
        Assert.Equal(("/b.txt", 24L), (x[1].Request!.Target, x[1].Response!.BodyBytes));
    }

    [Fact]
    public void GapInAResponseHeadLeavesItsRequestUnansweredAndTheNextPairsRight()
    {
        var capture = Http1Capture.Load("keepalive");
        var f = Feeder();
        var (requests, responses) = (capture.Requests, capture.Responses);
        f.Feed(Request, requests.AsSpan(0, 84), 1_000, 1_000);
        f.Feed(Response, responses.AsSpan(0, 100), 2_000, 2_000);
        Assert.False(f.Gap(Response, 20, 2_100));
        f.Feed(Response, responses.AsSpan(120, 122), 2_200, 2_200);
        f.Feed(Request, requests.AsSpan(84), 3_000, 3_000);
        f.Feed(Response, responses.AsSpan(242), 4_000, 4_000);
        var x = Exchanges(f);
        Assert.Equal(["/a.txt -", "/b.txt 200"], x.Select(e => $"{e.Request!.Target} {e.Response?.Status.ToString() ?? "-"}"));
        Assert.True(f.Dropped(Response) > 0);
    }

    [Fact]
    public void GapInAPipelinedRequestHeadIsFollowedByTheNextRequest()
    {
        var capture = Http1Capture.Load("pipelined");
        var f = Feeder();
        byte[] requests = capture.Requests;
        // Requests are 40, 40 and 61 bytes; the gap takes bytes 50..59 of the second.
        f.Feed(Request, requests.AsSpan(0, 50), 1_000, 1_000);
        Assert.False(f.Gap(Request, 10, 1_100));
        f.Feed(Request, requests.AsSpan(60), 1_200, 1_200);
        f.Close(5_000);
        Assert.Equal(["/a.txt", "/missing"], Exchanges(f).Select(x => x.Request!.Target));
    }

    [Fact]
    public void AKeepAliveClient_TakingTurnsBetweenPaths_AllocatesNothingPerExchange()
    {
        string[] paths = ["/users/1", "/users/2?page=1", "/health"];
        var (h1, exchanges, allocated) = TakeTurns(paths, "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 2\r\n\r\nok");

        Assert.Equal(exchanges, h1.Count);
        var last = Assert.IsType<HttpExchange>(h1.Last);
        Assert.Equal((paths[(exchanges - 1) % 3], "api", 200), (last.Request!.Target, last.Request.Host, last.Response!.Status));
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void TwoPathsThatShareAStringSlot_TakenInTurn_AllocateNothingPerExchange()
    {
        // Same length, first, middle and last byte: the strings' cache files both under one hash.
        string[] paths = ["/a/x1", "/b/x1"];
        var (h1, exchanges, allocated) = TakeTurns(paths, "HTTP/1.1 204 No Content\r\n\r\n");

        var last = Assert.IsType<HttpExchange>(h1.Last);
        Assert.Equal((paths[(exchanges - 1) % 2], 204), (last.Request!.Target, last.Response!.Status));
        Assert.Equal(0, allocated);
    }

    /// <summary>A keep-alive client asking for each path in turn: 30 exchanges to warm up, then what 1 000 more allocate.</summary>
    private static (SteadyState H1, int Exchanges, long Allocated) TakeTurns(string[] paths, string response)
    {
        var h1 = new SteadyState(Http1Protocol.Info);
        byte[][] requests = [.. paths.Select(p => B($"GET {p} HTTP/1.1\r\nHost: api\r\n\r\n"))];
        byte[] reply = B(response);
        long allocated = Allocations.InSteadyState(Exchange, out int exchanges);
        return (h1, exchanges, allocated);

        void Exchange(int i)
        {
            h1.Feed(Request, requests[i % requests.Length]);
            h1.Feed(Response, reply);
        }
    }

    [Fact]
    public void CountOnlyHeadParsingAndBodySkippingAllocateNothing()
    {
        byte[] head = B("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n");
        byte[] chunked = B("5\r\nhello\r\n5;x=y\r\nworld\r\n0\r\nX-T: 1\r\n\r\n");
        var handler = new NullHeadHandler();
        Assert.True(Run());
        bool all = true;
        long allocated = Allocations.LeastOf(3, () =>
        {
            for (int i = 0; i < 1000; i++)
            {
                all &= Run();
            }
        });
        Assert.True(all);
        Assert.Equal(0, allocated);

        bool Run()
        {
            int scan = 0;
            var body = default(HttpBodyReader);
            body.Start(BodyMode.Chunked, 0, 0);
            return HttpHeadParser.FindHeadEnd(head, ref scan, out int length) == HeadSearch.Complete
                && length == head.Length
                && HttpHeadParser.TryParseRequest(head.AsSpan(0, length), ref handler, out var framing)
                && framing.ContentLength == -1
                && body.Read(chunked, false, ref handler, out int consumed) == BodyStatus.Complete
                && consumed == chunked.Length;
        }
    }
}
