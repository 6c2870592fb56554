namespace Tattle.Protocols.Common;

/// <summary>
/// A parser that knows how long the body it is reading is, so the bytes left of it may be counted by the kernel
/// instead of copied (the connection's decoder asks after each parse, and tells the parser what was skipped).
/// </summary>
public interface IBodySkipping
{
    /// <summary>
    /// Bytes of the message now being read in this direction that the parser would only count: the rest of a body of
    /// known length, once the bytes it keeps of it are in. 0 when there is none, or its end is not known in advance
    /// (chunked, until close).
    /// </summary>
    long SkippableBytes(MessageKind kind);

    /// <summary>
    /// <paramref name="bytes"/> bytes were counted, not copied, at the parser's request. They are counted as body the
    /// parser read, not as unseen. False if they do not fall inside the body (the parser then had lost step): the
    /// caller treats them as a gap.
    /// </summary>
    bool OnSkipped(MessageKind kind, long bytes, long nowNs);
}
