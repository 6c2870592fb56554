using System.Globalization;

namespace Tattle.Capture.Packets.Replay;

/// <summary>What a <see cref="PacketReplayer"/> read and what it made of it, for `tattle read`'s summary line.</summary>
public sealed class ReplayCounters
{
    /// <summary>Frames offered, whatever they held.</summary>
    public long Packets { get; internal set; }

    /// <summary>Captured bytes of every frame (link-layer headers included).</summary>
    public long Bytes { get; internal set; }

    /// <summary>Frames that carry no IP, or of a link type the decoder does not know.</summary>
    public long NotIp { get; internal set; }

    /// <summary>IP packets of another protocol than TCP and UDP (ICMP …).</summary>
    public long OtherProtocols { get; internal set; }

    /// <summary>IP fragments after the first: they carry no ports (datagrams are not reassembled).</summary>
    public long Fragments { get; internal set; }

    /// <summary>Frames cut inside a header, or whose headers contradict themselves.</summary>
    public long Undecodable { get; internal set; }

    /// <summary>Copies of a packet already read (one packet seen on two interfaces) that were dropped.</summary>
    public long Duplicates { get; internal set; }

    /// <summary>Packets of a TCP flow after it ended (its last ACK, a late retransmission), not replayed.</summary>
    public long AfterClose { get; internal set; }

    /// <summary>Payload bytes handed on, each byte of a stream once (bytes cut by the snap length included).</summary>
    public long PayloadBytes { get; internal set; }

    /// <summary>Payload bytes not handed on because they were already: retransmissions and overlaps.</summary>
    public long RepeatedBytes { get; internal set; }

    /// <summary>TCP connections and UDP sockets replayed.</summary>
    public long Flows { get; internal set; }

    /// <summary>Flows of decrypted TLS (Tattle's synthetic interface), replayed as their connections' plaintext.</summary>
    public long PlaintextFlows { get; internal set; }

    /// <summary>One line: "12 packets (3.1 KiB), 1 TCP/UDP flow, 12 duplicates dropped, …" (zero counts left out).</summary>
    public override string ToString()
    {
        var parts = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"{Packets} packets ({Size(Bytes)})"),
            string.Create(CultureInfo.InvariantCulture, $"{Flows} flows"),
        };
        void Add(long n, string what)
        {
            if (n > 0)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{n} {what}"));
            }
        }
        Add(PlaintextFlows, "TLS plaintext flows");
        Add(Duplicates, "duplicates dropped");
        Add(NotIp, "not IP");
        Add(OtherProtocols, "not TCP/UDP");
        Add(Fragments, "later fragments");
        Add(Undecodable, "undecodable");
        Add(AfterClose, "after close");
        return string.Join(", ", parts);
    }

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.0} MiB"),
    };
}
