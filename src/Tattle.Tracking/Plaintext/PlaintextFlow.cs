using Tattle.Capture.Events;

namespace Tattle.Tracking.Plaintext;

/// <summary>
/// One TLS session's plaintext as a TCP connection: who it belongs to, the two ends, and per end the initial
/// sequence number and how far its byte stream has gone.
/// </summary>
public sealed class PlaintextFlow
{
    internal PlaintextFlow(int pid, string comm, string conn, NetAddress local, NetAddress remote, bool localIsClient, bool synthetic, ulong mix)
    {
        Pid = pid;
        Comm = comm;
        Conn = conn;
        Local = new FlowEnd(local, (uint)(mix >> (localIsClient ? 0 : 32)));
        Remote = new FlowEnd(remote, (uint)(mix >> (localIsClient ? 32 : 0)));
        LocalIsClient = localIsClient;
        SyntheticAddresses = synthetic;
    }

    public int Pid { get; }

    public string Comm { get; }

    /// <summary>The connection id the records give the session's socket (or its stand-in).</summary>
    public string Conn { get; }

    /// <summary>The traced process's end.</summary>
    public FlowEnd Local { get; }

    public FlowEnd Remote { get; }

    /// <summary>Whether the traced process is the client: its end sends the SYN.</summary>
    public bool LocalIsClient { get; }

    /// <summary>The socket was never seen (a custom BIO): the addresses are made up, from a documentation range.</summary>
    public bool SyntheticAddresses { get; }

    /// <summary>The client's port on its socket, when the flow's is not it (see <see cref="SyntheticPorts"/>).</summary>
    public ushort? ClientPort { get; init; }

    /// <summary>The packet comments, per direction, once the sink has made them.</summary>
    internal string? CommentOut { get; set; }

    internal string? CommentIn { get; set; }

    /// <summary>The end that sends the SYN.</summary>
    internal FlowEnd Client => LocalIsClient ? Local : Remote;

    internal FlowEnd Server => LocalIsClient ? Remote : Local;

    internal FlowEnd Sender(bool fromLocal) => fromLocal ? Local : Remote;

    internal FlowEnd Receiver(bool fromLocal) => fromLocal ? Remote : Local;
}

/// <summary>
/// One end of a <see cref="PlaintextFlow"/>: its address, initial sequence number and the next plaintext byte
/// it sends, counted from the first plaintext position seen in its direction.
/// </summary>
public sealed class FlowEnd(NetAddress address, uint isn)
{
    public NetAddress Address { get; } = address;

    /// <summary>The ISN (RFC 9293 section 3.4): its SYN takes this number, its first data byte the next.</summary>
    public uint Isn { get; } = isn;

    /// <summary>The session position of this end's first byte; null until it sent plaintext.</summary>
    public ulong? Base { get; set; }

    /// <summary>Plaintext bytes sent, captured or not: where the next segment (or the FIN) starts.</summary>
    public ulong Sent { get; set; }

    /// <summary>IPv4 identification of the next packet (RFC 791): one counter per sender.</summary>
    public ushort NextIpId { get; set; }

    /// <summary>The sequence number of the byte <paramref name="offset"/> bytes into the stream (wrapping at 2^32).</summary>
    public uint SeqAt(ulong offset) => unchecked(Isn + 1 + (uint)offset);

    /// <summary>What the other end acknowledges: every byte this end sent.</summary>
    public uint NextSeq => SeqAt(Sent);
}
