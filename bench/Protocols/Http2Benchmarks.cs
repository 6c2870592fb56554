using System.Buffers.Binary;
using System.Text;
using BenchmarkDotNet.Attributes;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http2;

namespace Tattle.Bench.Protocols;

/// <summary>
/// HTTP/2 parser throughput. DATA: 1 MiB in 16 KiB DATA frames skipped through <see cref="IProtocolParser.Parse"/>
/// in 64 KiB reads (divide <see cref="BodyBytes"/> by the mean for bytes/s). HEADERS: a request HEADERS and its
/// response HEADERS, both ending their stream, as a browser's steady state sends them (static and dynamic table
/// references, 8 request fields): two frames decoded, strings made, one exchange reported per operation. gRPC: a
/// unary call on a connection of its own, as grpc-dotnet and grpc-go send it after their first (request HEADERS and
/// one message, response HEADERS, one message and the grpc-status trailers): five frames, one exchange.
/// </summary>
[MemoryDiagnoser]
public class Http2Benchmarks
{
    public const int BodyBytes = 1 << 20;
    private const int ReadSize = 64 * 1024;
    private const int DataFrame = 16 * 1024;

    private static readonly (string Name, string Value)[] RequestFields =
    [
        (":authority", "api.example.com"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"),
        ("accept", "application/json, text/plain, */*"),
        ("accept-encoding", "gzip, deflate, br"),
        ("accept-language", "en-US,en;q=0.9"),
        ("referer", "https://app.example.com/orders"),
        ("cache-control", "no-cache"),
    ];

    private static readonly (string Name, string Value)[] ResponseFields =
    [
        ("server", "nginx/1.22.1"),
        ("content-type", "application/json"),
        ("cache-control", "private, max-age=0"),
    ];

    private readonly DiscardSink _sink = new();
    private readonly DiscardSink _grpcSink = new();
    private IProtocolParser _grpc = null!;
    private byte[][] _grpcCall = [];
    private int _grpcStream;
    private IProtocolParser _parser = null!;
    private byte[] _dataStream = [];
    private byte[] _request = [];
    private byte[] _response = [];
    private int _stream;

    [GlobalSetup]
    public void Setup()
    {
        _parser = Http2Protocol.Create(ParserOptions.Default, _sink, null);
        // The first request and response put their fields in the tables; the measured ones refer to them.
        Feed(_parser, MessageKind.Request, [.. Http2Protocol.Preface, .. Frame(4, 0, 0, []), .. Frame(1, 0x5, 1, FirstBlock(RequestFields, [0x82, 0x87]))]);
        Feed(_parser, MessageKind.Response, [.. Frame(4, 0, 0, []), .. Frame(1, 0x5, 1, FirstBlock(ResponseFields, [0x88]))]);
        // Indexed fields: :method GET (2), :scheme https (7), a literal :path (name 4), then the dynamic entries,
        // newest first (62 is the last one added).
        var request = new List<byte> { 0x82, 0x87, 0x04, 22 };
        request.AddRange(Encoding.ASCII.GetBytes("/api/v1/users/12345/o1"));
        request.AddRange(Enumerable.Range(0, RequestFields.Length).Select(i => (byte)(0x80 | (62 + RequestFields.Length - 1 - i))));
        _request = Frame(1, 0x5, 0, [.. request]);
        _response = Frame(1, 0x5, 0, [0x88, .. Enumerable.Range(0, ResponseFields.Length).Select(i => (byte)(0x80 | (62 + ResponseFields.Length - 1 - i)))]);

        // Stream 3 stays open for DATA: its request without END_STREAM. The measured exchanges come after it.
        // Its :path is a literal kept out of the table (name 4), which the measured requests' references count on.
        Feed(_parser, MessageKind.Request, Frame(1, 0x4, 3, [0x83, 0x86, 0x04, 7, .. "/upload"u8]));
        var data = new MemoryStream();
        for (int sent = 0; sent < BodyBytes; sent += DataFrame)
        {
            data.Write(Frame(0, 0, 3, new byte[DataFrame]));
        }
        _dataStream = data.ToArray();
        _stream = 3;
        int reported = _sink.Count;
        HeadersExchange();
        if (_sink.Count != reported + 1)
        {
            throw new InvalidOperationException("the HEADERS pair did not make an exchange");
        }
        if (_sink.Last is not Http2Exchange { Path: "/api/v1/users/12345/o1", Authority: "api.example.com", Status: 200 } x
            || x.RequestHeaders.Count != RequestFields.Length - 1 || x.ResponseHeaders.Count != ResponseFields.Length)
        {
            throw new InvalidOperationException("the HEADERS pair's fields are not the ones set up: the table references are off");
        }

        SetupGrpc();
    }

    private void SetupGrpc()
    {
        _grpc = Http2Protocol.Create(ParserOptions.Default, _grpcSink, null);
        byte[] request = [0, 0, 0, 0, 7, 0x0a, 0x05, .. "alice"u8], reply = [0, 0, 0, 0, 13, 0x0a, 0x0b, .. "hello alice"u8];
        // The first call puts its fields in the tables: :path, :authority, content-type and te on the client's side
        // (62..65, newest first), content-type then grpc-status on the server's (63, 62).
        Feed(_grpc, MessageKind.Request, [.. Http2Protocol.Preface, .. Frame(4, 0, 0, []),
            .. Frame(1, 0x4, 1, FirstBlock([(":path", "/greet.Greeter/SayHello"), (":authority", "api.example.com"), ("content-type", "application/grpc"), ("te", "trailers")], [0x83, 0x87])),
            .. Frame(0, 0x1, 1, request)]);
        Feed(_grpc, MessageKind.Response, [.. Frame(4, 0, 0, []), .. Frame(1, 0x4, 1, FirstBlock([("content-type", "application/grpc")], [0x88])),
            .. Frame(0, 0, 1, reply), .. Frame(1, 0x5, 1, FirstBlock([("grpc-status", "0")], []))]);
        _grpcCall =
        [
            Frame(1, 0x4, 0, [0x83, 0x87, 0x80 | 65, 0x80 | 64, 0x80 | 63, 0x80 | 62]), Frame(0, 0x1, 0, request),
            Frame(1, 0x4, 0, [0x88, 0x80 | 63]), Frame(0, 0, 0, reply), Frame(1, 0x5, 0, [0x80 | 62]),
        ];
        _grpcStream = 1;
        int reported = _grpcSink.Count;
        GrpcUnaryCall();
        if (_grpcSink.Count != reported + 1 || _grpcSink.Last is not Http2Exchange
            {
                Path: "/greet.Greeter/SayHello", Status: 200,
                Grpc: { Service: "greet.Greeter", Method: "SayHello", StatusCode: 0, RequestMessageBytes: 7, ResponseMessageBytes: 13 },
            } call || call.Trailers.Count != 1 || call.RequestHeaders.Count != 2)
        {
            throw new InvalidOperationException("the gRPC call is not the one set up: the table references are off");
        }
    }

    /// <summary>Hands a setup's bytes to <paramref name="parser"/> whole, a frame a call, as the connection's stream does.</summary>
    private static void Feed(IProtocolParser parser, MessageKind kind, byte[] bytes)
    {
        var context = new StreamContext(1, 2);
        for (int at = 0; at < bytes.Length;)
        {
            at += parser.Parse(kind, bytes.AsSpan(at), context).Consumed;
        }
    }

    [Benchmark(Description = "request + response HEADERS, exchange reported")]
    public int HeadersExchange()
    {
        // Each operation is a new stream: the id goes up by two, as a client's do.
        _stream += 2;
        BinaryPrimitives.WriteInt32BigEndian(_request.AsSpan(5), _stream);
        BinaryPrimitives.WriteInt32BigEndian(_response.AsSpan(5), _stream);
        var context = new StreamContext(1, 2);
        int a = _parser.Parse(MessageKind.Request, _request, context).Consumed;
        int b = _parser.Parse(MessageKind.Response, _response, context).Consumed;
        return a + b;
    }

    [Benchmark(Description = "gRPC unary call: 5 frames, exchange reported")]
    public int GrpcUnaryCall()
    {
        _grpcStream += 2;
        var context = new StreamContext(1, 2);
        int consumed = 0;
        for (int i = 0; i < _grpcCall.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(_grpcCall[i].AsSpan(5), _grpcStream);
            consumed += _grpc.Parse(i < 2 ? MessageKind.Request : MessageKind.Response, _grpcCall[i], context).Consumed;
        }
        return consumed;
    }

    [Benchmark(Description = "1 MiB of DATA (16 KiB frames) in 64 KiB reads")]
    public int SkipData()
    {
        int offset = 0;
        int calls = 0;
        var context = new StreamContext(1, 2);
        while (offset < _dataStream.Length)
        {
            var window = _dataStream.AsSpan(offset, Math.Min(ReadSize, _dataStream.Length - offset));
            var result = _parser.Parse(MessageKind.Request, window, context);
            offset += result.Consumed;
            calls++;
            if (result.Status is ParseStatus.Invalid or ParseStatus.EndOfStream || (result.Consumed == 0 && window.Length >= 9))
            {
                throw new InvalidOperationException(result.ToString());
            }
        }
        return calls;
    }

    /// <summary>A block of literal fields with incremental indexing (RFC 7541 section 6.2.1), after <paramref name="prefix"/>.</summary>
    private static byte[] FirstBlock((string Name, string Value)[] fields, byte[] prefix)
    {
        var block = new List<byte>(prefix);
        foreach (var (name, value) in fields)
        {
            block.Add(0x40);
            block.Add((byte)name.Length);
            block.AddRange(Encoding.ASCII.GetBytes(name));
            block.Add((byte)value.Length);
            block.AddRange(Encoding.ASCII.GetBytes(value));
        }
        return [.. block];
    }

    private static byte[] Frame(byte type, byte flags, int stream, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), stream);
        payload.CopyTo(frame, 9);
        return frame;
    }
}
