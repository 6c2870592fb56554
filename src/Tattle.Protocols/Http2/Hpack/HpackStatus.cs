namespace Tattle.Protocols.Http2.Hpack;

/// <summary>How a header block decoded.</summary>
public enum HpackStatus : byte
{
    /// <summary>Every field was decoded and reported.</summary>
    Ok,

    /// <summary>Decoded, but at least one field referenced a dynamic-table entry this decoder does not know.</summary>
    Incomplete,

    /// <summary>Malformed: the decoder state is now unknown (the decoder desynchronised itself).</summary>
    Error,
}
