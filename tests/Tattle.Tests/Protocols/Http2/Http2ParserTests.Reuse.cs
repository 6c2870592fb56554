using System.Reflection;
using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http;
using Tattle.Protocols.Http1;
using Tattle.Protocols.Http2;
using Tattle.Tests.Protocols.Support;
using Tattle.Tests.Support;
using static Tattle.Tests.Protocols.Http2.Http2Wire;

namespace Tattle.Tests.Protocols.Http2;

/// <summary>
/// What an HTTP/2 connection reuses for a sink that consumes each message at once: its exchange, its last ended
/// stream, the field arrays a repeated block is handed, and the connection's last record.
/// </summary>
public sealed partial class Http2ParserTests
{
    [Theory]
    [MemberData(nameof(Captures))]
    public void EveryCapture_GivesTheSameExchanges_WhetherItsObjectsAreRefilledOrNot(string name)
    {
        var capture = Http2Capture.Load(name);
        string[] kept = [.. capture.Replay(consumesAtOnce: false).Messages.Select(Http2Capture.Summary)];
        string[] refilled = [.. capture.Replay(consumesAtOnce: true).Messages.Select(Http2Capture.Summary)];
        Assert.NotEmpty(kept);
        Assert.Equal(kept, refilled);
    }

    public static TheoryData<string> Captures() => [.. Http2Capture.All];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AKeepAliveConnection_RefillsItsExchange_AndHandsARepeatedBlockTheSameArray(bool consumesAtOnce)
    {
        var f = Connection(consumesAtOnce: consumesAtOnce);
        var handed = new List<Http2Exchange>();
        f.Sink.OnHanded = m => handed.Add((Http2Exchange)m);
        // Literals added to the tables, then the same fields again as references: the strings repeat, not the bytes.
        Send(f, Client, Headers(1, [.. Request("/a"), .. Literal("user-agent", "grpc-go/1.60", addToTable: true)], endStream: true));
        Send(f, Server, Headers(1, Response(200, ("content-type", "application/json")), endStream: false));
        Send(f, Server, Data(1, "one", endStream: true));
        for (int id = 3; id <= 7; id += 2)
        {
            Send(f, Client, Headers(id, [.. Request(id == 5 ? "/b" : "/a"), .. Indexed(62)], endStream: true));
            Send(f, Server, [.. Headers(id, Response(200, ("content-type", "application/json")), endStream: false), .. Data(id, $"#{id}", endStream: true)]);
        }
        // A block that differs gets its own array.
        Send(f, Client, Headers(9, [.. Request("/a"), .. Literal("user-agent", "curl/8")], endStream: true));
        Send(f, Server, Headers(9, Response(204), endStream: true));

        var x = Exchanges(f);
        Assert.Equal([1, 3, 5, 7, 9], x.Select(e => e.StreamId));
        Assert.Equal(["/a", "/a", "/b", "/a", "/a"], x.Select(e => e.Path));
        Assert.Equal(["one", "#3", "#5", "#7", ""], x.Select(e => Encoding.ASCII.GetString(e.ResponseBody.Span)));
        Assert.Equal(["grpc-go/1.60", "grpc-go/1.60", "grpc-go/1.60", "grpc-go/1.60", "curl/8"], x.Select(e => e.RequestHeaders[0].Value));
        Assert.Equal((200, 204), (x[3].Status, x[4].Status));
        Assert.Same(x[1].RequestHeaders, x[3].RequestHeaders);
        Assert.Same(x[0].ResponseHeaders, x[3].ResponseHeaders);
        Assert.NotSame(x[3].RequestHeaders, x[4].RequestHeaders);
        Assert.Same(x[0].Path, x[3].Path); // one string for a repeated path

        Assert.Equal(5, handed.Count);
        int distinct = handed.Distinct(ReferenceEqualityComparer.Instance).Count();
        Assert.Equal(consumesAtOnce ? 1 : 5, distinct);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public void AKeepAliveConnection_AllocatesNothingPerStream_OnceItsBlocksRepeat(int inFlight)
    {
        // A client's steady state, as HPACK sends it: the first request and response add their fields to the
        // tables, and every later one refers to them, with a :path literal: two paths in turn.
        var h2 = new SteadyState(sink => Http2Protocol.Create(ParserOptions.Default, sink, new Http2Start()));
        (string, string)[] requestFields = [(":authority", "api.example.com"), ("user-agent", "grpc-dotnet/2.60"), ("accept", "*/*")];
        (string, string)[] responseFields = [("server", "nginx/1.22.1"), ("content-type", "application/json")];
        h2.Feed(Client, [.. Preface, .. Settings(), .. Headers(1, [0x82, 0x87, .. Literal(":path", "/users/1"), .. AddedToTable(requestFields)], endStream: true)]);
        h2.Feed(Server, [.. Settings(), .. Headers(1, [0x88, .. AddedToTable(responseFields)], endStream: true)]);
        byte[][] requests = [Request("/users/1"), Request("/users/2")];
        byte[] response = Headers(3, [0x88, .. Indexed(63), .. Indexed(62)], endStream: true);

        // The stream table's queue of ids grows to the length it keeps (compacted every 64 ended streams) once.
        for (int id = 3; id < 291; id += 2 * inFlight)
        {
            Exchanges(id);
        }
        int next = 291;
        long allocated = Allocations.LeastOf(3, () =>
        {
            for (int end = next + 2000; next < end; next += 2 * inFlight)
            {
                Exchanges(next);
            }
        });

        Assert.Equal((next - 1) / 2, h2.Count);
        var last = Assert.IsType<Http2Exchange>(h2.Last);
        Assert.Equal(("/users/1", "api.example.com", 200, next - 2), (last.Path, last.Authority, last.Status, last.StreamId));
        Assert.Equal(["user-agent", "accept"], last.RequestHeaders.Select(h => h.Name));
        Assert.Equal(0, allocated);

        // The requests of inFlight streams, then their responses, as a client with that many in flight sends them.
        void Exchanges(int first)
        {
            for (int id = first; id < first + (2 * inFlight); id += 2)
            {
                byte[] request = requests[id / 2 % 2];
                System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(5), id);
                h2.Feed(Client, request);
            }
            for (int id = first; id < first + (2 * inFlight); id += 2)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(response.AsSpan(5), id);
                h2.Feed(Server, response);
            }
        }

        static byte[] Request(string path) =>
            Headers(3, [0x82, 0x87, .. Literal(":path", path), .. Indexed(64), .. Indexed(63), .. Indexed(62)], endStream: true);

        static byte[] AddedToTable((string Name, string Value)[] fields) =>
            [.. fields.SelectMany(f => Literal(f.Name, f.Value, addToTable: true))];
    }

    [Fact]
    public void AGrpcClient_CallingOneMethodAgain_AllocatesNothingPerCall()
    {
        // A unary call as grpc-dotnet and grpc-go make it: a request head and one message, a response head, one
        // message and the grpc-status trailers; the first call adds its fields to the tables, the others refer to them.
        var h2 = new SteadyState(sink => Http2Protocol.Create(ParserOptions.Default, sink, new Http2Start()));
        byte[] request = GrpcMessages(false, [0x0a, 0x05, .. "alice"u8]), reply = GrpcMessages(false, [0x0a, 0x0b, .. "hello alice"u8]);
        h2.Feed(Client, [.. Preface, .. Settings(), .. Headers(1, [0x83, 0x87, .. Literal(":path", "/greet.Greeter/SayHello", addToTable: true),
            .. Literal(":authority", "api.example.com", addToTable: true), .. Literal("content-type", "application/grpc", addToTable: true),
            .. Literal("te", "trailers", addToTable: true)], endStream: false), .. Data(1, request, endStream: true)]);
        h2.Feed(Server, [.. Settings(), .. Headers(1, [0x88, .. Literal("content-type", "application/grpc", addToTable: true)], endStream: false),
            .. Data(1, reply, endStream: false), .. Headers(1, Literal("grpc-status", "0", addToTable: true), endStream: true)]);
        byte[][] client = [Headers(3, [0x83, 0x87, .. Indexed(65), .. Indexed(64), .. Indexed(63), .. Indexed(62)], endStream: false), Data(3, request, endStream: true)];
        byte[][] server = [Headers(3, [0x88, .. Indexed(63)], endStream: false), Data(3, reply, endStream: false), Headers(3, Indexed(62), endStream: true)];
        var first = Call(3);
        var firstGrpc = first.Grpc;
        var firstTrailers = first.Trailers;
        for (int id = 5; id < 291; id += 2)
        {
            Call(id);
        }
        int next = 291;
        long allocated = Allocations.LeastOf(3, () =>
        {
            for (int end = next + 2000; next < end; next += 2)
            {
                Call(next);
            }
        });

        Assert.Equal((next - 1) / 2, h2.Count);
        var last = Assert.IsType<Http2Exchange>(h2.Last);
        Assert.Equal(("/greet.Greeter/SayHello", 200, next - 2), (last.Path, last.Status, last.StreamId));
        Assert.Equal(("greet.Greeter", "SayHello", 0, "OK", 1, 1, 7L, 13L), (last.Grpc!.Service, last.Grpc.Method, last.Grpc.StatusCode,
            last.Grpc.StatusName, last.Grpc.RequestMessages, last.Grpc.ResponseMessages, last.Grpc.RequestMessageBytes, last.Grpc.ResponseMessageBytes));
        Assert.Equal([new HttpHeader("grpc-status", "0")], last.Trailers);
        // The same call again is handed the same immutable objects: what a sink kept of the first still says the same.
        Assert.Same(firstGrpc, last.Grpc);
        Assert.Same(firstTrailers, last.Trailers);
        Assert.Equal(0, allocated);

        Http2Exchange Call(int id)
        {
            foreach (var frame in client)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), id);
                h2.Feed(Client, frame);
            }
            foreach (var frame in server)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), id);
                h2.Feed(Server, frame);
            }
            return (Http2Exchange)h2.Last!;
        }
    }

    [Fact]
    public void AGrpcCall_ThatDiffersFromTheLast_IsANewObject_AndTheLastIsUnchanged()
    {
        var f = Connection();
        Send(f, Client, Headers(1, [0x83, 0x87, .. Literal(":path", "/greet.Greeter/SayHello"), .. Literal("content-type", "application/grpc")], endStream: false));
        Send(f, Client, Data(1, GrpcMessages(false, [1, 2, 3]), endStream: true));
        Send(f, Server, Headers(1, [0x88, .. Literal("content-type", "application/grpc")], endStream: false));
        Send(f, Server, Headers(1, Literal("grpc-status", "0"), endStream: true));
        Send(f, Client, Headers(3, [0x83, 0x87, .. Literal(":path", "/greet.Greeter/SayHello"), .. Literal("content-type", "application/grpc")], endStream: false));
        Send(f, Client, Data(3, GrpcMessages(false, [1, 2, 3, 4]), endStream: true));
        Send(f, Server, Headers(3, [0x88, .. Literal("content-type", "application/grpc")], endStream: false));
        Send(f, Server, Headers(3, [.. Literal("grpc-status", "5"), .. Literal("grpc-message", "no%20such%20user")], endStream: true));

        var x = Exchanges(f);
        Assert.Equal((3L, 0, "OK"), (x[0].Grpc!.RequestMessageBytes, x[0].Grpc!.StatusCode, x[0].Grpc!.StatusName));
        Assert.Equal((4L, 5, "NOT_FOUND", "no such user"), (x[1].Grpc!.RequestMessageBytes, x[1].Grpc!.StatusCode, x[1].Grpc!.StatusName, x[1].Grpc!.Message));
        Assert.Equal([new HttpHeader("grpc-status", "0")], x[0].Trailers);
        Assert.Equal(["grpc-status", "grpc-message"], x[1].Trailers.Select(h => h.Name));
    }

    [Fact]
    public void AStreamResetWhileItsDataIsSkipped_IsNotMadeTheNextStream()
    {
        // The client is inside a DATA frame of stream 1 when the server resets it and pushes stream 2: the rest of
        // that frame is stream 1's, and must not land in the pushed stream made of a reused object.
        var f = Connection();
        Send(f, Client, Headers(1, Request("/upload"), endStream: false));
        byte[] data = Data(1, "0123456789abcdef", endStream: true);
        Send(f, Client, data[..14]);
        Send(f, Server, RstStream(1, 8));
        byte[] promise = [0, 0, 0, 2, .. Request("/pushed")];
        Send(f, Server, Frame(FrameType.PushPromise, FrameFlags.EndHeaders, 1, promise));
        Send(f, Client, data[14..]);
        Send(f, Server, [.. Headers(2, Response(200), endStream: false), .. Data(2, "css", endStream: true)]);

        var x = Exchanges(f);
        Assert.Equal([1, 2], x.Select(e => e.StreamId));
        Assert.Equal("RST_STREAM", x[0].Error?.Frame);
        // The promise's frame payload is the pushed request's bytes; none of stream 1's DATA is.
        Assert.Equal(("/pushed", 0, (long)promise.Length), (x[1].Path, x[1].RequestBody.Length, x[1].RequestBytes));
        Assert.Equal("css", Encoding.ASCII.GetString(x[1].ResponseBody.Span));
    }

    [Fact]
    public void AReopenedStream_IsAsNewAsANewOne_EveryFieldReset()
    {
        var stream = new Http2Stream(1, 5);
        foreach (var field in Fields(typeof(Http2Stream)))
        {
            field.SetValue(stream, NotDefault(field.FieldType, field.Name));
        }
        var reopened = stream.Reopen(9, 77);
        var fresh = new Http2Stream(9, 77);

        Assert.Same(stream, reopened);
        foreach (var field in Fields(typeof(Http2Stream)))
        {
            Assert.True(Equals(field.GetValue(fresh), field.GetValue(reopened)), $"{field.Name} was not reset");
        }
    }

    [Fact]
    public void ARefilledRecord_EqualsANewOne_EvenWhenTheLastRecordWasAnHttp1Exchanges()
    {
        var spare = new HttpExchange
        {
            StartNs = 1,
            EndNs = 2,
            Request = new HttpRequest { Method = "POST", Target = "/old", Host = "old", Version = "HTTP/1.1", HeadBytes = 9, Headers = [new("Host", "old")], Body = new byte[] { 1 } },
            Response = new HttpResponse { Status = 101, Version = "HTTP/1.1", HeadBytes = 9, ContentEncoding = "br", Trailers = [new("T", "x")], Truncated = true },
            Upgrade = "h2c",
            Interim = [100],
        }.ToRecord(new FixedMessageContext());
        var f = Connection(new ParserOptions { BodyLimit = 16 });
        Send(f, Client, Headers(1, Request("/pkg.Svc/Call", "api", ("content-type", "application/grpc")), endStream: false));
        Send(f, Client, Data(1, GrpcMessages(false, [1, 2]), endStream: true));
        Send(f, Server, [.. Headers(1, Response(200, ("content-type", "application/grpc")), endStream: false), .. Data(1, GrpcMessages(false, [3]), endStream: false)]);
        Send(f, Server, Headers(1, Block(Literal("grpc-status", "5"), Literal("grpc-message", "gone")), endStream: true));
        var exchange = Assert.Single(Exchanges(f));

        var r = RecordRefill.AssertEqualsNew<HttpRecord>(exchange, spare);
        Assert.Equal(("/pkg.Svc/Call", "2", 1, 200, "NOT_FOUND"), (r.Path, r.Version, r.Stream, r.Status, r.Grpc?.StatusName));
        Assert.Equal((null, false, 2), (r.Upgrade, r.InKernel, r.Trailers?.Count));
    }

    private static IEnumerable<FieldInfo> Fields(Type type) =>
        type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);

    /// <summary>A value unlike a new stream's for each field type a stream has; a new type must be added here.</summary>
    private static object? NotDefault(Type type, string name)
    {
        if (type == typeof(StreamHalf))
        {
            var half = new StreamHalf { Bytes = 3, ContentEncoding = "gzip", Ended = true };
            half.AddData("abc"u8, 16, grpc: true);
            half.OnGap();
            return half;
        }
        return type switch
        {
            _ when type == typeof(int) || type == typeof(int?) => 42,
            _ when type == typeof(long) => 42L,
            _ when type == typeof(bool) => true,
            _ when type == typeof(string) => "x",
            _ when type == typeof(HttpHeader[]) => new HttpHeader[] { new("a", "b") },
            _ when type == typeof(List<HttpHeader>) => new List<HttpHeader> { new("a", "b") },
            _ when type == typeof(List<int>) => new List<int> { 103 },
            _ when type == typeof(Http2StreamError) => new Http2StreamError("RST_STREAM", 8, "CANCEL", "client"),
            _ => throw new InvalidOperationException($"Http2Stream.{name} is of a type this test does not know: give it a value"),
        };
    }
}
