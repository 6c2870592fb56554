namespace Tattle.Capture.Packets;

/// <summary>Which container a capture file is.</summary>
public enum CaptureFormat
{
    /// <summary>Not recognized (see <see cref="CaptureReader.Error"/>).</summary>
    Unknown,

    /// <summary>Classic libpcap (draft-ietf-opsawg-pcap), microsecond or nanosecond timestamps.</summary>
    Pcap,

    /// <summary>pcapng (draft-ietf-opsawg-pcapng).</summary>
    Pcapng,
}

/// <summary>
/// One packet read from a capture. <see cref="InterfaceId"/> indexes <see cref="CaptureReader.Interfaces"/>
/// (numbered across sections); <see cref="UnixNs"/> is 0 for a Simple Packet Block, which has no timestamp.
/// <see cref="Offset"/> is the byte offset of the record or block that held it.
/// </summary>
public readonly record struct CapturedPacket(
    int InterfaceId,
    ushort LinkType,
    long UnixNs,
    long OriginalLength,
    ReadOnlyMemory<byte> Data,
    string? Comment,
    long Offset);

/// <summary>
/// An interface of a capture: a pcapng Interface Description Block, or the pcap file header. SnapLength 0 means
/// no limit; <see cref="TimestampResolution"/> is the raw if_tsresol byte (6 = µs, 9 = ns, 0x80|n = 2^-n s).
/// </summary>
public sealed record CaptureInterface(
    int Section,
    int IdInSection,
    string? Name,
    string? Description,
    ushort LinkType,
    long SnapLength,
    byte TimestampResolution,
    long TimestampOffsetSeconds);

/// <summary>An Interface Statistics Block (draft-ietf-opsawg-pcapng section 4.6); absent options are null.</summary>
public sealed record CaptureStatistics(
    int InterfaceId,
    long UnixNs,
    long? StartNs,
    long? EndNs,
    ulong? IfRecv,
    ulong? IfDrop,
    ulong? FilterAccept,
    ulong? OsDrop,
    ulong? UsrDeliv,
    string? Comment);

/// <summary>Why reading stopped: the byte offset of the bad or cut record/block, and what was wrong with it.</summary>
public sealed record CaptureError(long Offset, string Message)
{
    public override string ToString() => Message;
}
