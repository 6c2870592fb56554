namespace Tattle.Protocols.Common;

/// <summary>What one call to <see cref="IProtocolParser.Parse"/> made of its input.</summary>
/// <remarks>
/// The effect on the input is part of the contract; the caller (the connection's data stream) relies on it:
/// <list type="bullet">
/// <item><see cref="Success"/>: a message (or one side of it) was parsed; the first <c>Consumed</c> bytes are
/// used up. Call again with the rest.</item>
/// <item><see cref="NeedMoreData"/>: the input ends inside a message. The first <c>Consumed</c> bytes are used up
/// (non-zero while a body is being skipped, so a 5 MB body never sits in memory); keep the rest and call again
/// when more bytes arrive.</item>
/// <item><see cref="Invalid"/>: the input does not start with a message of this protocol. Nothing is consumed;
/// the caller drops bytes up to the next <see cref="IProtocolParser.FindFrameBoundary"/> and records them as a
/// gap.</item>
/// <item><see cref="Ignored"/>: the first <c>Consumed</c> bytes were valid but carry nothing to report (e.g. the
/// CRLF between pipelined HTTP messages, TLS records after the handshake). Call again with the rest.</item>
/// <item><see cref="EndOfStream"/>: the connection switched to something this parser does not read (HTTP
/// <c>101 Switching Protocols</c>, the encrypted part of TLS). The caller stops parsing both directions.</item>
/// </list>
/// </remarks>
public enum ParseStatus : byte
{
    Success,
    NeedMoreData,
    Invalid,
    Ignored,
    EndOfStream,
}

/// <summary>The status of a parse call and how many bytes from the front of the input it used up.</summary>
public readonly record struct ParseResult(ParseStatus Status, int Consumed)
{
    public static ParseResult Success(int consumed) => new(ParseStatus.Success, consumed);

    public static ParseResult NeedMoreData(int consumed = 0) => new(ParseStatus.NeedMoreData, consumed);

    public static ParseResult Invalid => new(ParseStatus.Invalid, 0);

    public static ParseResult Ignored(int consumed) => new(ParseStatus.Ignored, consumed);

    public static ParseResult EndOfStream(int consumed) => new(ParseStatus.EndOfStream, consumed);
}
