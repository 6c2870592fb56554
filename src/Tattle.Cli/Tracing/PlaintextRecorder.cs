using Tattle.Output.Pcapng;
using Tattle.Tracking.Packets;
using Tattle.Tracking.Plaintext;

namespace Tattle.Cli.Tracing;

/// <summary>
/// --tls-plaintext: writes the synthetic plaintext packets on their own interface of the -w file. Runs on the
/// trace loop's thread while the capture thread writes captured packets to the same writer.
/// </summary>
/// <remarks>
/// <see cref="PcapngWriter"/> is not thread-safe (one buffer, one stream), so both threads hold one lock per
/// write. A lock rather than handing packets to the capture thread: the capture thread wakes only when packets
/// arrive, and a TLS exchange over a quiet capture would wait there; the lock is uncontended almost always.
/// </remarks>
internal sealed class PlaintextRecorder(PcapngWriter writer, Lock writerGate, int interfaceId, PacketOwners owners) : IPlaintextPacketSink
{
    /// <summary>The interface's name in the file (if_name).</summary>
    public const string InterfaceName = "tattle-tls-plaintext";

    /// <summary>The interface's if_description: what its packets are and are not.</summary>
    public const string InterfaceDescription = "tattle: synthetic packets, not captured: the plaintext of TLS connections read by uprobes on "
        + "the TLS library (SSL_read/SSL_write, gnutls_record_recv/send), in TCP/IP headers rebuilt from the connection's addresses";

    /// <summary>Packets written on the plaintext interface.</summary>
    public long Written { get; private set; }

    /// <summary>
    /// The captured packets' comment plus <c>tls=plaintext</c>, and either <c>client_port=N</c> (the socket's own
    /// port, which the flow does not use) or <c>addr=synthetic</c> (made-up addresses: the socket was never seen).
    /// </summary>
    public string Describe(PlaintextFlow flow, bool fromLocal) =>
        owners.CommentFor(flow.Pid, flow.Comm, flow.Conn, fromLocal,
            flow.ClientPort is ushort port ? $"tls=plaintext client_port={port}" : "tls=plaintext addr=synthetic");

    public void Write(long unixNs, ReadOnlySpan<byte> packet, string comment)
    {
        lock (writerGate)
        {
            writer.WritePacket(interfaceId, unixNs, packet, packet.Length, comment);
            Written++;
        }
    }
}
