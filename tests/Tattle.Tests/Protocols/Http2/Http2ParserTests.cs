using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http2;
using Tattle.Tests.Protocols.Support;
using static Tattle.Tests.Protocols.Http2.Http2Wire;

namespace Tattle.Tests.Protocols.Http2;

/// <summary>The frame layer and the stream table on frames written by hand: what the captures do not show.</summary>
public sealed partial class Http2ParserTests
{
    private const MessageKind Client = MessageKind.Request;
    private const MessageKind Server = MessageKind.Response;

    private long _now = 10;

    /// <summary>A connection past its prefaces: the client's preface and SETTINGS, the server's SETTINGS.</summary>
    private StreamFeeder Connection(ParserOptions? options = null, Http2Start? start = null, bool consumesAtOnce = true)
    {
        var feeder = new StreamFeeder(Http2Capture.Protocol(start ?? new Http2Start()), options ?? new ParserOptions { BodyLimit = 1 << 16 }, consumesAtOnce: consumesAtOnce);
        if (start is null)
        {
            Send(feeder, Client, [.. Preface, .. Settings()]);
            Send(feeder, Server, Settings((4, 65535)));
        }
        return feeder;
    }

    private void Send(StreamFeeder feeder, MessageKind kind, byte[] bytes)
    {
        _now += 10;
        feeder.Feed(kind, bytes, _now, _now + 1);
    }

    private static List<Http2Exchange> Exchanges(StreamFeeder feeder) => [.. feeder.Messages.OfType<Http2Exchange>()];

    private static string Text(ReadOnlyMemory<byte> body) => Encoding.ASCII.GetString(body.Span);

    [Fact]
    public void PaddedAndPrioritizedFramesGiveTheirContentOnly()
    {
        var f = Connection();
        byte[] block = Request("/padded");
        // HEADERS with PADDED and PRIORITY: pad length, 5 bytes of priority, the block, the padding.
        byte[] headers = Frame(FrameType.Headers, FrameFlags.Padded | FrameFlags.Priority | FrameFlags.EndHeaders | FrameFlags.EndStream, 1,
            [3, 0, 0, 0, 0, 15, .. block, 0, 0, 0]);
        Send(f, Client, headers);
        Send(f, Server, Headers(1, Response(200), endStream: false));
        // DATA with 4 bytes of padding, sent in three pieces so the padding straddles reads.
        byte[] data = Frame(FrameType.Data, FrameFlags.Padded | FrameFlags.EndStream, 1, [4, .. "hello"u8, 0, 0, 0, 0]);
        Send(f, Server, data[..12]);
        Send(f, Server, data[12..16]);
        Send(f, Server, data[16..]);

        var x = Assert.Single(Exchanges(f));
        Assert.Equal(("GET", "/padded", "example.test", "http", 200), (x.Method, x.Path, x.Authority, x.Scheme, x.Status));
        Assert.Equal("hello", Text(x.ResponseBody));
        Assert.Equal(headers.Length - 9, x.RequestBytes);
        Assert.Equal(Response(200).Length + 10, x.ResponseBytes);
        Assert.False(x.Truncated);
    }

    [Fact]
    public void ContinuationFramesAreJoinedIntoOneBlock()
    {
        var f = Connection();
        byte[] block = Request("/continued", "example.test", ("x-long", new string('v', 300)), ("accept", "*/*"));
        // Cut inside a field: the decoder sees the block only once it is whole.
        Send(f, Client, Headers(1, block[..20], endStream: true, endHeaders: false));
        Send(f, Client, Continuation(1, block[20..200], endHeaders: false));
        Send(f, Client, Continuation(1, block[200..], endHeaders: true));
        Send(f, Server, Headers(1, Response(204), endStream: true));

        var x = Assert.Single(Exchanges(f));
        Assert.Equal(["x-long", "accept"], x.RequestHeaders.Select(h => h.Name));
        Assert.Equal(300, x.RequestHeaders[0].Value.Length);
        Assert.Equal(block.Length, x.RequestBytes);
        Assert.False(x.HeadersIncomplete);
    }

    [Fact]
    public void AHeaderBlockBeyondTheBoundIsSkippedAndItsStreamMarked()
    {
        var f = Connection(start: null);
        Send(f, Server, Settings((5, 1 << 20)));
        byte[] huge = Literal("x-huge", new string('h', Http2Parser.MaxHeaderBlock));
        Send(f, Client, Headers(1, [.. Request("/huge"), .. huge[..100_000]], endStream: true, endHeaders: false));
        for (int at = 100_000; at < huge.Length; at += 100_000)
        {
            int end = Math.Min(huge.Length, at + 100_000);
            Send(f, Client, Continuation(1, huge[at..end], endHeaders: end == huge.Length));
        }
        Send(f, Server, Headers(1, Response(200), endStream: true));
        // The next stream's literals need no table: it is read in full.
        Send(f, Client, Headers(3, Request("/after"), endStream: true));
        Send(f, Server, Headers(3, Response(200), endStream: true));

        var x = Exchanges(f);
        Assert.Equal([1, 3], x.Select(e => e.StreamId));
        Assert.True(x[0].HeadersIncomplete);
        Assert.Null(x[0].Path);
        Assert.Equal(200, x[0].Status);
        Assert.False(x[0].Truncated);
        Assert.Equal(("/after", false), (x[1].Path, x[1].HeadersIncomplete));
        Assert.True(f.MaxBuffered(Client) < 200_000);
    }

    [Fact]
    public void UnknownFrameTypesAreIgnored()
    {
        var f = Connection();
        Send(f, Client, Headers(1, Request("/"), endStream: true));
        Send(f, Server, Frame(0x42, 0xff, 1, new byte[300]));
        Send(f, Server, Headers(1, Response(200), endStream: true));
        var parser = (Http2Parser)f.Parser;
        Assert.Equal(200, Assert.Single(Exchanges(f)).Status);
        Assert.Equal(1, parser.Counters.UnknownFrames);
    }

    [Fact]
    public void RstStreamEndsItsStreamWithTheCodeAndWhoSentIt()
    {
        var f = Connection();
        Send(f, Client, Headers(1, Request("/slow"), endStream: true));
        Send(f, Server, [.. Headers(1, Response(200), endStream: false), .. Data(1, "part", endStream: false)]);
        Send(f, Client, RstStream(1, 8));
        // Frames in flight after the reset belong to no stream.
        Send(f, Server, Data(1, "late", endStream: true));

        var x = Assert.Single(Exchanges(f));
        Assert.Equal(new Http2StreamError("RST_STREAM", 8, "CANCEL", "client"), x.Error);
        Assert.Equal("part", Text(x.ResponseBody));
        Assert.False(x.Truncated);
    }

    [Fact]
    public void GoAwayEndsOnlyTheStreamsAboveItsLastStreamId()
    {
        var f = Connection();
        Send(f, Client, Headers(1, Request("/one"), endStream: true));
        Send(f, Client, Headers(3, Request("/three"), endStream: true));
        Send(f, Server, GoAway(1, 0xb));
        Send(f, Server, Headers(1, Response(200), endStream: true));
        // A client's GOAWAY names the server's streams (pushes): the client's own are not ended by it.
        Send(f, Client, Headers(5, Request("/five"), endStream: true));
        Send(f, Client, GoAway(0, 0));
        f.Close(_now + 100);

        var x = Exchanges(f);
        Assert.Equal([3, 1, 5], x.Select(e => e.StreamId));
        Assert.Equal(new Http2StreamError("GOAWAY", 0xb, "ENHANCE_YOUR_CALM", "server"), x[0].Error);
        Assert.Equal((200, (Http2StreamError?)null), (x[1].Status, x[1].Error));
        Assert.True(x[2].Truncated);
        Assert.Equal(2, ((Http2Parser)f.Parser).Counters.GoAways);
    }

    [Fact]
    public void InterleavedStreamsAreKeptApart()
    {
        var f = Connection();
        Send(f, Client, [.. Headers(1, Request("/a"), endStream: true), .. Headers(3, Request("/b"), endStream: true)]);
        Send(f, Server, Headers(3, Response(404), endStream: false));
        Send(f, Server, Headers(1, Response(200), endStream: false));
        Send(f, Server, [.. Data(1, "a1", false), .. Data(3, "b1", false), .. Data(1, "a2", false)]);
        Send(f, Server, [.. Data(3, "b2", true), .. Data(1, "a3", true)]);

        var x = Exchanges(f);
        Assert.Equal(["3 /b 404 b1b2", "1 /a 200 a1a2a3"], x.Select(e => $"{e.StreamId} {e.Path} {e.Status} {Text(e.ResponseBody)}"));
    }

    [Fact]
    public void TheStreamTableIsBoundedAndReportsTheOldestTruncated()
    {
        var f = Connection();
        var many = new List<byte>();
        for (int id = 1; id <= (2 * Http2StreamTable.Capacity) + 1; id += 2)
        {
            many.AddRange(Headers(id, Request("/" + id), endStream: true));
        }
        Send(f, Client, [.. many]);
        var parser = (Http2Parser)f.Parser;
        var evicted = Assert.Single(Exchanges(f));
        Assert.Equal((1, true), (evicted.StreamId, evicted.Truncated));
        Assert.Equal(Http2StreamTable.Capacity, parser.OpenStreams);
        Assert.Equal(1, parser.Counters.EvictedStreams);
    }

    [Fact]
    public void AGapInsideDataIsAbsorbedAndCounted()
    {
        var f = Connection();
        Send(f, Client, Headers(1, Request("/big"), endStream: true));
        byte[] data = Data(1, new string('d', 1000), endStream: true);
        Send(f, Server, [.. Headers(1, Response(200), endStream: false), .. data[..100]]);
        Assert.True(f.Gap(Server, 500, _now));
        Send(f, Server, data[600..]);

        var x = Assert.Single(Exchanges(f));
        Assert.Equal((500L, false, 200), (x.UnseenBytes, x.Truncated, x.Status));
        Assert.Equal(91, x.ResponseBody.Length);
    }

    [Fact]
    public void AGapOutsideDataLosesStepAndTheTableWithIt()
    {
        var f = Connection();
        // x-id goes into the client's dynamic table; the next request refers to it by index.
        Send(f, Client, Headers(1, Block(Request("/1"), Literal("x-id", "first", addToTable: true)), endStream: true));
        Send(f, Server, Headers(1, Response(200), endStream: true));
        Assert.False(f.Gap(Client, 20, _now));
        Send(f, Client, Headers(3, Block(Request("/3"), Indexed(62)), endStream: true));
        Send(f, Server, Headers(3, Response(200), endStream: true));

        var x = Exchanges(f);
        Assert.Equal([1, 3], x.Select(e => e.StreamId));
        Assert.Equal([("x-id", "first")], x[0].RequestHeaders.Select(h => (h.Name, h.Value)));
        Assert.True(x[1].HeadersIncomplete);
        Assert.Equal("/3", x[1].Path);
        Assert.Empty(x[1].RequestHeaders);
    }

    [Fact]
    public void AFrameBeyondMaxFrameSizeIsInvalidUntilSettingsAllowIt()
    {
        var f = Connection();
        Send(f, Client, Headers(1, Request("/upload"), endStream: false));
        byte[] big = Data(1, new byte[20_000], endStream: true);
        var parser = f.Parser;
        Assert.Equal(ParseStatus.Invalid, parser.Parse(Client, big, new StreamContext(1, 2)).Status);

        Send(f, Server, Settings((5, 1 << 16)));
        foreach (var piece in big.Chunk(4096))
        {
            Send(f, Client, piece);
        }
        Send(f, Server, Headers(1, Response(201), endStream: true));
        var x = Assert.Single(Exchanges(f));
        Assert.Equal((201, 20_000L + Request("/upload").Length), (x.Status!.Value, x.RequestBytes));
        // DATA is consumed as it comes: never held whole.
        Assert.True(f.MaxBuffered(Client) < 20_000);
    }

    [Fact]
    public void ConnectionFramesAreCounted()
    {
        var f = Connection();
        Send(f, Client, [.. Ping(), .. WindowUpdate(0, 1000), .. SettingsAck, .. Frame(FrameType.Priority, 0, 3, new byte[5])]);
        Send(f, Server, [.. Ping(ack: true), .. WindowUpdate(1, 10)]);
        var c = ((Http2Parser)f.Parser).Counters;
        Assert.Equal((2, 2, 3, 1), (c.Pings, c.WindowUpdates, c.Settings, c.Priorities));
        // A PRIORITY frame names a stream without opening it; the close reports the counts, once, and no stream.
        f.Close(_now + 10);
        Assert.Empty(f.Messages.OfType<Http2Exchange>());
        var summary = Assert.Single(f.Messages.OfType<Http2ConnectionSummary>());
        Assert.Equal((2, 2, 3, 1, 0), (summary.Counters.Pings, summary.Counters.WindowUpdates, summary.Counters.Settings, summary.Counters.Priorities, summary.Counters.Streams));
    }

    [Fact]
    public void GrpcMessagesAreCountedAcrossDataFrames()
    {
        var f = Connection();
        Send(f, Client, Headers(1, Block(Literal(":method", "POST"), Indexed(6), Literal(":path", "/pkg.Svc/Do"), Literal("content-type", "application/grpc")), endStream: false));
        byte[] messages = GrpcMessages(false, new byte[10], new byte[3000], []);
        // Cut inside a length prefix and inside a message.
        Send(f, Client, Data(1, messages[..2], false));
        Send(f, Client, Data(1, messages[2..1000], false));
        Send(f, Client, Data(1, messages[1000..], true));
        Send(f, Server, Headers(1, Response(200, ("content-type", "application/grpc")), endStream: false));
        Send(f, Server, Data(1, GrpcMessages(true, new byte[7]), false));
        Send(f, Server, Headers(1, Block(Literal("grpc-status", "16"), Literal("grpc-message", "who%20are%20you%3F")), endStream: true));

        var g = Assert.Single(Exchanges(f)).Grpc!;
        Assert.Equal(("pkg.Svc", "Do", 16, "UNAUTHENTICATED", "who are you?"), (g.Service, g.Method, g.StatusCode!.Value, g.StatusName, g.Message));
        Assert.Equal((3, 3010L, 1, 7L, true), (g.RequestMessages, g.RequestMessageBytes, g.ResponseMessages, g.ResponseMessageBytes, g.Compressed));
    }

    [Fact]
    public void APushedStreamTakesItsRequestFromThePromise()
    {
        var f = Connection();
        Send(f, Client, Headers(1, Request("/page"), endStream: true));
        byte[] promise = [0, 0, 0, 2, .. Request("/style.css")];
        Send(f, Server, Frame(FrameType.PushPromise, FrameFlags.EndHeaders, 1, promise));
        Send(f, Server, [.. Headers(1, Response(200), endStream: true), .. Headers(2, Response(200), endStream: false), .. Data(2, "css", true)]);

        var x = Exchanges(f);
        Assert.Equal(["1 /page  200", "2 /style.css 1 200"], x.Select(e => $"{e.StreamId} {e.Path} {e.PromisedBy} {e.Status}"));
    }

    [Fact]
    public void TheCloseReportsWhatIsOpenAsTruncated()
    {
        var f = Connection();
        Send(f, Client, Headers(3, Request("/three"), endStream: true));
        Send(f, Client, Headers(5, Request("/five"), endStream: false));
        Send(f, Server, Headers(3, Response(200), endStream: false));
        Assert.Empty(f.Messages);
        f.Close(_now + 10);
        Assert.Equal([(3, true), (5, true)], Exchanges(f).Select(e => (e.StreamId, e.Truncated)));
    }

    [Fact]
    public void RedactionAppliesToThePathAndToSecretFields()
    {
        foreach (bool redact in new[] { true, false })
        {
            var f = Connection(new ParserOptions { Redact = redact });
            Send(f, Client, Headers(1, Request("/q?access_token=abc&page=2", "example.test", ("authorization", "Bearer xyz"), ("x-note", "plain")), endStream: true));
            Send(f, Server, Headers(1, Response(200, ("set-cookie", "sid=1")), endStream: true));
            var x = Assert.Single(Exchanges(f));
            Assert.Equal(redact ? "/q?access_token=REDACTED&page=2" : "/q?access_token=abc&page=2", x.Path);
            Assert.Equal(redact ? "REDACTED" : "Bearer xyz", x.RequestHeaders[0].Value);
            Assert.Equal("plain", x.RequestHeaders[1].Value);
            Assert.Equal(redact ? "REDACTED" : "sid=1", x.ResponseHeaders[0].Value);
        }
    }

    [Fact]
    public void TheUpgradeRequestsSettingsHoldForTheServersFirstFrames()
    {
        // HTTP2-Settings: SETTINGS_MAX_FRAME_SIZE = 65536, base64url without padding (RFC 7540 section 3.2.1).
        string settings = Convert.ToBase64String(Settings((5, 1 << 16))[9..]).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var request = new Tattle.Protocols.Http1.HttpRequest
        {
            Method = "GET",
            Target = "/up",
            Host = "example.test",
            Version = "HTTP/1.1",
            HeadBytes = 100,
            BodyBytes = 0,
            StartNs = 1,
            EndNs = 2,
            Headers = [new("Host", "example.test"), new("Upgrade", "h2c"), new("HTTP2-Settings", settings)],
        };
        var f = Connection(start: new Http2Start(request));
        Send(f, Client, [.. Preface, .. Settings()]);
        // The server's answer to stream 1 comes in a frame larger than the default maximum.
        Send(f, Server, [.. Settings(), .. Headers(1, Response(200), endStream: false), .. Data(1, new byte[30_000], endStream: true)]);

        var x = Assert.Single(Exchanges(f));
        Assert.Equal((1, "GET", "/up", 200, 30_000), (x.StreamId, x.Method, x.Path, x.Status!.Value, x.ResponseBody.Length));
        Assert.Equal(0, f.Dropped(Server));
    }

    [Fact]
    public void AnUnknownReferenceKeepsWhatTheTableLearnedSince()
    {
        var f = Connection(start: new Http2Start(AtConnectionStart: false));
        // x-new is added (entry 62); 63 is an entry from before tracing began.
        Send(f, Client, Headers(1, Block(Indexed(2), Indexed(6), Literal(":path", "/a"), Literal("x-new", "v", addToTable: true), Indexed(63)), endStream: true));
        Send(f, Client, Headers(3, Block(Indexed(2), Indexed(6), Literal(":path", "/b"), Indexed(62)), endStream: true));
        f.Close(_now + 10);

        var x = Exchanges(f);
        Assert.Equal([("/a", true), ("/b", false)], x.Select(e => (e.Path!, e.HeadersIncomplete)));
        Assert.Equal([("x-new", "v")], x[0].RequestHeaders.Select(h => (h.Name, h.Value)));
        Assert.Equal([("x-new", "v")], x[1].RequestHeaders.Select(h => (h.Name, h.Value)));
    }

    [Fact]
    public void MidConnectionTheFirstBytesMayBeAnywhere()
    {
        var f = Connection(start: new Http2Start(AtConnectionStart: false));
        byte[] frames = [.. Data(1, "tail of an older stream", true), .. Headers(7, Request("/seven"), endStream: true)];
        // Tracing began inside the DATA frame: the parser resynchronises on the next frame header.
        Send(f, Client, frames[5..]);
        Send(f, Server, [.. Headers(7, Response(200), endStream: false), .. Data(7, "ok", true)]);
        var x = Assert.Single(Exchanges(f));
        Assert.Equal((7, "/seven", 200), (x.StreamId, x.Path, x.Status!.Value));
    }
}
