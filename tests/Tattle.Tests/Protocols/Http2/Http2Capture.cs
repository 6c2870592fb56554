using System.Security.Cryptography;
using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http;
using Tattle.Protocols.Http1;
using Tattle.Protocols.Http2;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Http2;

/// <summary>
/// A connection recorded by testdata/http2/capture.py, replayed through the HTTP/2 parser. The h2c Upgrade cases
/// begin in HTTP/1.1: their request and 101 are read by the HTTP/1 parser first, which hands the request over as
/// stream 1, as the tracker does.
/// </summary>
public sealed class Http2Capture
{
    /// <summary>Every recorded case (see capture.py for what each one is).</summary>
    public static readonly string[] All =
    [
        "curl_get", "curl_credentials", "nghttp_concurrent", "h2load", "upgrade_curl", "upgrade_nghttp", "grpc_unary",
        "grpc_trailers_only", "grpc_streaming", "node",
    ];

    public static readonly ParserOptions Options = new() { BodyLimit = 1 << 20 };

    private Http2Capture(RecordedConnection recording) => Recording = recording;

    public RecordedConnection Recording { get; }

    public string Name => Recording.Name;

    public bool IsUpgrade => Name.StartsWith("upgrade", StringComparison.Ordinal);

    public static Http2Capture Load(string name) => new(RecordedConnection.Load("http2", name));

    /// <summary>Bytes the HTTP/1 part takes of each direction (none unless the case upgrades).</summary>
    public int[] Http1Bytes() => IsUpgrade ? [HeadLength(Recording.Requests), HeadLength(Recording.Responses)] : [0, 0];

    private static int HeadLength(byte[] bytes) => bytes.AsSpan().IndexOf("\r\n\r\n"u8) + 4;

    /// <summary>The HTTP/2 parser's start: the upgraded request for the Upgrade cases.</summary>
    public Http2Start Start(bool atConnectionStart = true)
    {
        if (!IsUpgrade)
        {
            return new Http2Start(AtConnectionStart: atConnectionStart);
        }
        int[] heads = Http1Bytes();
        var http1 = new StreamFeeder(Http1Protocol.Info, Options);
        http1.Feed(MessageKind.Request, Recording.Requests.AsSpan(0, heads[0]), 1, 1);
        http1.Feed(MessageKind.Response, Recording.Responses.AsSpan(0, heads[1]), 2, 2);
        var exchange = (HttpExchange)Assert.Single(http1.Messages);
        Assert.Equal("h2c", exchange.Upgrade);
        return new Http2Start(exchange.Request, atConnectionStart);
    }

    public static ProtocolInfo Protocol(Http2Start start) =>
        new(Http2Protocol.Name, Http2Protocol.Probe, (options, sink) => Http2Protocol.Create(options, sink, start));

    /// <summary>
    /// Replays the case (its HTTP/2 part) through a fresh parser, cut by <paramref name="random"/>, from
    /// <paramref name="from"/> bytes of each direction on when given; then both directions end and it closes.
    /// </summary>
    public StreamFeeder Replay(ParserOptions? options = null, Random? random = null, int maxSegment = 64, int[]? from = null, Http2Start? start = null, bool consumesAtOnce = true)
    {
        var feeder = new StreamFeeder(Protocol(start ?? Start()), options ?? Options, consumesAtOnce: consumesAtOnce);
        long now = Recording.Replay(feeder, random, maxSegment, from ?? Http1Bytes());
        feeder.Feed(MessageKind.Response, [], now, now, endOfStream: true);
        feeder.Feed(MessageKind.Request, [], now, now, endOfStream: true);
        feeder.Close(now + RecordedConnection.StepNs);
        return feeder;
    }

    /// <summary>What an exchange says, times left out (they depend on how the bytes were cut).</summary>
    public static string Summary(ProtocolMessage message)
    {
        if (message is Http2ConnectionSummary { Counters: var c })
        {
            return $"connection streams={c.Streams} settings={c.Settings} pings={c.Pings} window_updates={c.WindowUpdates} "
                + $"priorities={c.Priorities} goaways={c.GoAways} unknown={c.UnknownFrames} evicted={c.EvictedStreams}";
        }
        var x = (Http2Exchange)message;
        var sb = new StringBuilder();
        sb.Append($"#{x.StreamId} {x.Method} {x.Scheme}://{x.Authority}{x.Path} => {x.Status} interim={string.Join(",", x.Interim)}");
        sb.Append($" bytes={x.RequestBytes}/{x.ResponseBytes} unseen={x.UnseenBytes} ce={x.RequestContentEncoding}/{x.ResponseContentEncoding}");
        sb.Append($" error={x.Error} incomplete={x.HeadersIncomplete} promisedBy={x.PromisedBy} truncated={x.Truncated} ");
        Append(sb, "q:", x.RequestHeaders);
        Append(sb, "r:", x.ResponseHeaders);
        Append(sb, "t:", x.Trailers);
        sb.Append("bodies=").Append(Hash(x.RequestBody)).Append('/').Append(Hash(x.ResponseBody));
        if (x.Grpc is { } g)
        {
            sb.Append($" grpc={g.Service}/{g.Method} {g.StatusCode} {g.StatusName} '{g.Message}' msgs={g.RequestMessages}:{g.RequestMessageBytes}/{g.ResponseMessages}:{g.ResponseMessageBytes} compressed={g.Compressed}");
        }
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, string prefix, IReadOnlyList<HttpHeader> fields)
    {
        foreach (var h in fields)
        {
            sb.Append(prefix).Append(h.Name).Append('=').Append(h.Value).Append(';');
        }
    }

    private static string Hash(ReadOnlyMemory<byte> body) =>
        $"{body.Length}:{Convert.ToHexString(SHA256.HashData(body.Span))[..12]}";
}
