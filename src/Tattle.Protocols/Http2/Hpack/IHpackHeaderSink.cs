namespace Tattle.Protocols.Http2.Hpack;

/// <summary>Receives decoded header fields. Spans are valid only during the call.</summary>
public interface IHpackHeaderSink
{
    /// <summary>
    /// A decoded field. <paramref name="staticIndex"/>: 1..61 when the NAME came from the static table (lets a caller
    /// recognise ":method", ":path", ":status", "content-type"... without comparing bytes), else 0. The index is
    /// canonical, the first entry with that name (<see cref="HpackStaticTable.Method"/> for both ":method" entries),
    /// and is also given for a literal or dynamic-table name equal to a static one.
    /// </summary>
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int staticIndex);

    /// <summary>
    /// A field that references a dynamic-table entry this decoder does not know (attached mid-connection, or after a
    /// gap): neither name nor value is reported, never a guess. <paramref name="nameOnly"/>: true when only the name
    /// was unknown (literal value known, passed in <paramref name="value"/>).
    /// </summary>
    void OnUnknownHeader(ReadOnlySpan<byte> value, bool nameOnly);
}
