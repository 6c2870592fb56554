namespace Tattle.Protocols.Common;

/// <summary>What a parser knows about the bytes it is given, besides the bytes.</summary>
/// <param name="StartNs">Monotonic time the first byte of the input arrived.</param>
/// <param name="NowNs">Monotonic time the last byte of the input arrived.</param>
/// <param name="EndOfStream">The direction has ended (peer closed, read returned 0, connection closed): no
/// more bytes will follow, so a message delimited by the close (an HTTP response without length) is complete.</param>
/// <param name="Datagram">The input is exactly one datagram (UDP): message boundaries are the datagram's.</param>
/// <param name="Peer">For datagrams: the remote endpoint as text ("127.0.0.1:53"); part of the 5-tuple that pairs
/// datagram requests with responses. Null for streams.</param>
public readonly record struct StreamContext(
    long StartNs, long NowNs, bool EndOfStream = false, bool Datagram = false, string? Peer = null);
