using Tattle.Records;

namespace Tattle.Protocols.Common;

/// <summary>
/// One protocol's reader for one connection: fed the ordered bytes of both directions, it reports messages to
/// its <see cref="IMessageSink"/> (a stitcher inside pairs requests with responses). The model is Pixie's
/// socket tracer: <c>ParseFrame</c> + <c>FindFrameBoundary</c> + a stitcher, one instance per connection.
/// </summary>
/// <remarks>
/// Wire data never makes a parser throw: malformed input is <see cref="ParseStatus.Invalid"/>, and every size
/// read from the wire is checked before it is used. A parser allocates only for what it reports.
/// </remarks>
public interface IProtocolParser
{
    /// <summary>The protocol's name as records show it ("http", "dns", "tls").</summary>
    string Name { get; }

    /// <summary>Parses from the front of <paramref name="data"/>; see <see cref="ParseStatus"/> for the effect.</summary>
    ParseResult Parse(MessageKind kind, ReadOnlySpan<byte> data, in StreamContext context);

    /// <summary>
    /// The offset of the first position in <paramref name="data"/> where a message of this kind plausibly starts
    /// (used after a gap, or when tracing began mid-stream), or -1 if there is none.
    /// </summary>
    int FindFrameBoundary(MessageKind kind, ReadOnlySpan<byte> data);

    /// <summary>
    /// <paramref name="bytes"/> bytes of this direction will never be seen (lost, cut by the snap length, sent
    /// with sendfile). Returns true if the parser stays in step (the bytes fall inside a body it was skipping
    /// anyway); false if it dropped its partial message and needs <see cref="FindFrameBoundary"/>.
    /// </summary>
    bool OnGap(MessageKind kind, long bytes, long nowNs);

    /// <summary>The connection closed: reports what is pending (a request never answered, say).</summary>
    void OnClose(long nowNs);

    /// <summary>
    /// After <see cref="ParseStatus.EndOfStream"/>: the protocol the connection switched to (HTTP/1.1's 101), which
    /// the catalog may hand the rest of both directions to; null when the bytes that follow are not for parsing.
    /// </summary>
    ProtocolSwitch? Switch => null;
}

/// <summary>A connection changed protocols mid-stream: to what, and the exchange that asked for it.</summary>
/// <param name="Protocol">The token the peers agreed on ("h2c", "websocket").</param>
/// <param name="Upgraded">The request that asked for the switch; HTTP/2 answers it on stream 1 (RFC 9113 §3.2 of
/// RFC 7540, kept by RFC 9113 for h2c).</param>
public sealed record ProtocolSwitch(string Protocol, ProtocolMessage? Upgraded);

/// <summary>Receives the messages parsers report.</summary>
public interface IMessageSink
{
    void OnMessage(ProtocolMessage message);

    /// <summary>
    /// The sink is done with a message when <see cref="OnMessage"/> returns (it keeps what it needs in other
    /// objects): a parser may then reuse the message's objects for its next message instead of allocating new ones.
    /// </summary>
    bool ConsumesAtOnce => false;
}

/// <summary>The objects a parser refills while its sink consumes each message at once (<see cref="IMessageSink.ConsumesAtOnce"/>).</summary>
internal static class Refillable
{
    /// <summary>The object to fill next: <paramref name="spare"/>, made once, when <paramref name="reuse"/>; else a new one.</summary>
    public static T Next<T>(bool reuse, ref T? spare, Func<T> make)
        where T : class => reuse ? spare ??= make() : make();
}

/// <summary>A parsed exchange or message; times are monotonic nanoseconds.</summary>
public abstract record ProtocolMessage
{
    private long _startNs;
    private long _endNs;

    /// <summary>When the first byte of the exchange (the request, usually) arrived.</summary>
    public required long StartNs { get => _startNs; init => _startNs = value; }

    /// <summary>When the exchange completed (the last byte of the response, usually).</summary>
    public required long EndNs { get => _endNs; init => _endNs = value; }

    /// <summary>Sets the times of a message object its parser reuses (see <see cref="IMessageSink.ConsumesAtOnce"/>).</summary>
    private protected void Retime(long startNs, long endNs)
    {
        _startNs = startNs;
        _endNs = endNs;
    }

    /// <summary>
    /// The message's record on the connection <paramref name="context"/> describes. Every message type says how
    /// it is recorded (an abstract member: a new protocol cannot forget it), so nothing parsed is dropped.
    /// </summary>
    public abstract MessageRecord ToRecord(IMessageContext context);
}

/// <summary>Settings every parser takes.</summary>
public sealed record ParserOptions
{
    /// <summary>Body bytes kept per message (0: only sizes).</summary>
    public int BodyLimit { get; init; }

    /// <summary>Replace secrets (credentials, cookies, tokens) with REDACTED.</summary>
    public bool Redact { get; init; } = true;

    /// <summary>Add short printable previews of payloads to the records (--data): message frames, text frames.</summary>
    public bool Previews { get; init; }

    /// <summary>
    /// Keep every header field (name and value) of a message. Off under --stats, which counts requests by their start
    /// line: then only the fields that change how a message is read or named (Host, Content-Encoding, Upgrade) are kept.
    /// </summary>
    public bool Headers { get; init; } = true;

    public static ParserOptions Default { get; } = new();
}
