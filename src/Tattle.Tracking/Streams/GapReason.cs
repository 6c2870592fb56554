namespace Tattle.Tracking.Streams;

/// <summary>Why bytes of a stream were never parsed.</summary>
public enum GapReason : byte
{
    /// <summary>Records lost between the kernel and user space (the position jumped and nothing filled the hole).</summary>
    Lost,

    /// <summary>The message was longer than the snap length.</summary>
    Snaplen,

    /// <summary>The kernel could not read the process's memory for these bytes.</summary>
    Unread,

    /// <summary>Moved by sendfile or splice: counted by the kernel, payload never in user memory.</summary>
    Unseen,

    /// <summary>More unparsed bytes than the per-direction memory cap.</summary>
    Cap,

    /// <summary>Bytes skipped to find the next message boundary after the parser lost step.</summary>
    Resync,

    /// <summary>
    /// Body bytes the parser asked the kernel only to count (<see cref="Tattle.Capture.Bpf.IBodySkips"/>): absorbed
    /// by the body they fall in, so a gap of this reason is seen only if the parser lost step meanwhile.
    /// </summary>
    Skipped,
}

/// <summary>Names of gap reasons as records spell them.</summary>
public static class GapReasons
{
    public static string Name(GapReason reason) => reason switch
    {
        GapReason.Lost => "lost",
        GapReason.Snaplen => "snaplen",
        GapReason.Unread => "unread",
        GapReason.Unseen => "unseen",
        GapReason.Cap => "cap",
        GapReason.Skipped => "skipped",
        _ => "resync",
    };
}
