using Tattle.Capture.Events;
using Tattle.Capture.Packets;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Tls;

namespace Tattle.Tracking.Plaintext;

/// <summary>Where synthetic plaintext packets go, and who names them.</summary>
public interface IPlaintextPacketSink
{
    /// <summary>The comment of the flow's packets in one direction; asked once per flow and direction.</summary>
    string Describe(PlaintextFlow flow, bool fromLocal);

    /// <summary>One IPv4 or IPv6 packet (LINKTYPE_RAW); the span is valid only during the call.</summary>
    void Write(long unixNs, ReadOnlySpan<byte> packet, string comment);
}

/// <summary>
/// Turns TLS plaintext into TCP/IP packets a dissector follows as an ordinary connection: per TLS session a
/// handshake, data segments numbered by the plaintext's position, and a FIN exchange when the session ends.
/// </summary>
/// <remarks>
/// Sequence numbers are the end's ISN + 1 + the byte's offset in that direction's plaintext (RFC 9293 section
/// 3.4), so chunks land where they belong whatever order they come in. Bytes past the snap length are not
/// invented: the sequence moves past them, and a reader sees a segment that was not captured. Runs on the trace
/// loop's thread, as <see cref="TraceSession"/> does.
/// </remarks>
public sealed class PlaintextPackets : ITlsPlaintextSink
{
    private readonly Dictionary<(int Pid, ulong Session), PlaintextFlow> _flows = [];
    private readonly byte[] _packet = new byte[TcpPacketBuilder.MaxPacket];
    private readonly SyntheticPorts _ports;

    /// <param name="ports">Where the flows' client ports come from; the default assumes Linux's ephemeral range.</param>
    public PlaintextPackets(SyntheticPorts? ports = null) => _ports = ports ?? new SyntheticPorts();

    /// <summary>Where packets go; nothing is made while it is null (before the capture file is open).</summary>
    public IPlaintextPacketSink? Output { get; set; }

    /// <summary>Packets made so far.</summary>
    public long Packets { get; private set; }

    /// <summary>TLS sessions made into flows so far.</summary>
    public long Sessions { get; private set; }

    public void OnPlaintext(in DataEvent e, ReadOnlySpan<byte> payload, Connection conn, string comm, long unixNs)
    {
        if (Output is null)
        {
            return;
        }
        var key = (e.Pid, e.TlsSession);
        bool fromLocal = e.Direction == Direction.Send;
        if (!_flows.TryGetValue(key, out var flow))
        {
            flow = Open(in e, conn, comm, unixNs);
            _flows[key] = flow;
        }
        var sender = flow.Sender(fromLocal);
        ulong start = sender.Base ??= e.Position;
        if (e.Position < start)
        {
            return; // before the first byte this flow numbered: it has no place in the stream
        }
        ulong at = e.Position - start + e.ChunkOffset;
        bool last = (e.Flags & DataFlags.Last) != 0;
        for (int done = 0; done < payload.Length;)
        {
            int n = Math.Min(TcpPacketBuilder.MaxPayload, payload.Length - done);
            // PSH marks where the sender's write ended (RFC 9293 section 3.9.1.2): the message's last bytes.
            var flags = TcpFlags.Ack | (last && done + n == payload.Length ? TcpFlags.Psh : 0);
            Send(flow, fromLocal, unixNs, new TcpSegmentHeader(sender.SeqAt(at + (ulong)done), flow.Receiver(fromLocal).NextSeq, flags),
                payload.Slice(done, n));
            done += n;
        }
        // A truncated or unread message still moved MessageLength bytes: the next one starts past all of them.
        ulong end = last ? e.Position - start + e.MessageLength : at + (ulong)payload.Length;
        sender.Sent = Math.Max(sender.Sent, end);
    }

    public void OnSessionEnd(int pid, ulong session, long unixNs)
    {
        if (Output is null || !_flows.Remove((pid, session), out var flow))
        {
            return;
        }
        // The traced process ended the session; which end closed the socket first is not known, so its end goes
        // first: FIN, the peer's FIN, the last ACK (RFC 9293 section 3.6).
        var local = flow.Local;
        var remote = flow.Remote;
        _ports.Release(flow.Client.Address, flow.Server.Address);
        Send(flow, true, unixNs, new TcpSegmentHeader(local.NextSeq, remote.NextSeq, TcpFlags.Fin | TcpFlags.Ack), default);
        Send(flow, false, unixNs, new TcpSegmentHeader(remote.NextSeq, local.NextSeq + 1, TcpFlags.Fin | TcpFlags.Ack), default);
        Send(flow, true, unixNs, new TcpSegmentHeader(local.NextSeq + 1, remote.NextSeq + 1, TcpFlags.Ack), default);
    }

    private PlaintextFlow Open(in DataEvent e, Connection conn, string comm, long unixNs)
    {
        // The connection's role says which end connected; a stand-in without one goes by who spoke first.
        bool localIsClient = conn.Role switch
        {
            "client" => true,
            "server" => false,
            _ => e.Direction == Direction.Send,
        };
        ulong mix = Mix((ulong)e.Pid << 48 ^ e.TlsSession);
        var local = Unmapped(conn.Local);
        var remote = Unmapped(conn.Remote);
        bool known = local.IsInet && local.Family == remote.Family && local.Port != 0 && remote.Port != 0;
        ushort? clientPort = null;
        if (!known)
        {
            (local, remote) = DocumentationAddresses(mix, localIsClient);
        }
        else
        {
            clientPort = localIsClient ? local.Port : remote.Port;
        }
        if (localIsClient)
        {
            local = _ports.Take(local, remote, mix);
        }
        else
        {
            remote = _ports.Take(remote, local, mix);
        }
        var flow = new PlaintextFlow(e.Pid, comm, conn.Id, local, remote, localIsClient, !known, mix) { ClientPort = clientPort };
        Sessions++;
        // A handshake first, so a reader starts the stream cleanly (RFC 9293 section 3.5, Figure 6).
        var client = flow.Client;
        var server = flow.Server;
        Send(flow, localIsClient, unixNs, new TcpSegmentHeader(client.Isn, 0, TcpFlags.Syn), default);
        Send(flow, !localIsClient, unixNs, new TcpSegmentHeader(server.Isn, client.NextSeq, TcpFlags.Syn | TcpFlags.Ack), default);
        Send(flow, localIsClient, unixNs, new TcpSegmentHeader(client.NextSeq, server.NextSeq, TcpFlags.Ack), default);
        return flow;
    }

    private void Send(PlaintextFlow flow, bool fromLocal, long unixNs, TcpSegmentHeader h, ReadOnlySpan<byte> payload)
    {
        var output = Output!;
        var sender = flow.Sender(fromLocal);
        int length = TcpPacketBuilder.Build(_packet, sender.Address, flow.Receiver(fromLocal).Address, h, payload, sender.NextIpId++);
        string comment = fromLocal
            ? flow.CommentOut ??= output.Describe(flow, true)
            : flow.CommentIn ??= output.Describe(flow, false);
        output.Write(unixNs, _packet.AsSpan(0, length), comment);
        Packets++;
    }

    /// <summary>
    /// 192.0.2.1 (client) and 192.0.2.2 (server), from TEST-NET-1 (RFC 5737), which no real host uses; the server's
    /// port, from the session, is one Wireshark names no protocol for (see <see cref="SyntheticPorts"/>), as the
    /// client's will be.
    /// </summary>
    private (NetAddress Local, NetAddress Remote) DocumentationAddresses(ulong mix, bool localIsClient)
    {
        const uint TestNet1 = 0xC000_0200;
        var client = new NetAddress(NetAddress.AfInet, 0, (UInt128)(TestNet1 + 1) << 96);
        var server = new NetAddress(NetAddress.AfInet, _ports.Any(mix >> 16), (UInt128)(TestNet1 + 2) << 96);
        return localIsClient ? (client, server) : (server, client);
    }

    /// <summary>A dual-stack socket's IPv4 peer is ::ffff:a.b.c.d to the kernel: plain IPv4 is what went on the wire.</summary>
    private static NetAddress Unmapped(NetAddress a) =>
        a.Family == NetAddress.AfInet6 && (a.Address >> 32) == 0xffff
            ? new NetAddress(NetAddress.AfInet, a.Port, (a.Address & 0xffff_ffff) << 96)
            : a;

    /// <summary>SplitMix64's finalizer: ISNs and made-up ports that differ per session yet repeat run to run.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
