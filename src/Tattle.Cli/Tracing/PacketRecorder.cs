using Tattle.Capture.Events;
using Tattle.Capture.Packets;
using Tattle.Output.Pcapng;
using Tattle.Tracking.Packets;

namespace Tattle.Cli.Tracing;

/// <summary>
/// Writes the captured packets of the traced processes to pcapng, each with a comment naming its process and
/// connection. Runs on the capture thread.
/// </summary>
/// <remarks>
/// A packet can arrive before the record that names its socket (the SYN of a connect() that has not returned yet,
/// the first datagram of a socket whose bind was just traced): unmatched packets wait up to <see cref="HoldNs"/>
/// for the records to catch up. They wait in arrival order so the file stays in time order; a matched packet with
/// nothing waiting ahead of it is written at once, without a copy.
/// <para>The writer is shared with <see cref="PlaintextRecorder"/> on the trace loop's thread: every use of it
/// holds <paramref name="writerGate"/>.</para>
/// </remarks>
internal sealed class PacketRecorder(PcapngWriter writer, Lock writerGate, int interfaceId, int linkType, PacketOwners owners, bool allPackets)
    : IPacketHandler
{
    /// <summary>How long an unmatched packet waits for the trace records to name its socket.</summary>
    public const long HoldNs = 500_000_000;

    private readonly Queue<Held> _held = new();
    private readonly Dictionary<(NetAddress From, NetAddress To), long> _halfClosed = []; // the time of the FIN
    private readonly Queue<(long FinNs, (NetAddress From, NetAddress To) Flow)> _finOrder = new();
    private long _latestNs;

    /// <summary>
    /// Traced TCP connections whose FIN went one way and not yet the other, recently enough that their last packets
    /// are still to come (a peer closes when it gets to it, after the traced process has exited). Any thread.
    /// </summary>
    public int HalfClosedFlows(long nowUnixNs)
    {
        lock (writerGate)
        {
            ExpireHalfClosed(nowUnixNs);
            return _halfClosed.Count;
        }
    }

    /// <summary>
    /// Connections whose last packets a stop should still wait for: flows closed one way (<see cref="HalfClosedFlows"/>)
    /// and connections the records closed before this thread wrote their own FIN
    /// (<see cref="PacketOwners.ClosedAheadOfTheCapture"/>). Any thread.
    /// </summary>
    public int StillClosing(long nowUnixNs) => HalfClosedFlows(nowUnixNs) + owners.ClosedAheadOfTheCapture(nowUnixNs);

    /// <summary>Packets written with their owner.</summary>
    public long Attributed { get; private set; }

    /// <summary>TCP/UDP packets no traced socket owned (written untagged with --all-packets).</summary>
    public long Unattributed { get; private set; }

    /// <summary>Packets that were not TCP or UDP over IP (ARP, ICMP, fragments): never a traced socket's.</summary>
    public long NotTcpUdp { get; private set; }

    /// <summary>Loopback's second copy of a packet on the "any" device, dropped.</summary>
    public long Duplicates { get; private set; }

    public void OnPacket(long unixNs, int wireLength, ReadOnlySpan<byte> data)
    {
        lock (writerGate)
        {
            Record(unixNs, wireLength, data);
        }
    }

    public void OnBatchEnd()
    {
        lock (writerGate)
        {
            Release(_latestNs);
            writer.Flush(); // per batch: the file always ends on a whole block, readable while tattle runs
        }
    }

    /// <summary>Capture ended: whatever still waits is matched against what the records know now, or given up.</summary>
    public void Finish()
    {
        lock (writerGate)
        {
            Release(long.MaxValue);
            writer.Flush();
        }
    }

    private void Record(long unixNs, int wireLength, ReadOnlySpan<byte> data)
    {
        _latestNs = Math.Max(_latestNs, unixNs);
        if (LiveCapture.IsLoopbackOutgoingDuplicate(linkType, data))
        {
            Duplicates++;
            return;
        }
        if (PacketDecoder.TryDecode(linkType, data, out var p) != DecodeStatus.Ok)
        {
            NotTcpUdp++;
            if (allPackets)
            {
                Enqueue(unixNs, wireLength, data, default, false);
            }
            return;
        }
        // A FIN or RST is looked up on arrival even when it must wait behind another packet, and its close noted: the
        // queue moves only as later packets come, and a stop that found no half-closed flow would not wait for the
        // peer's FIN. Any other packet behind the queue is looked up once, when the queue reaches it.
        var owner = _held.Count == 0 || IsClosing(p) ? owners.Find(p.Protocol, p.Src, p.Dst, unixNs) : null;
        if (owner is not null)
        {
            NoteClosing(p, unixNs);
        }
        if (_held.Count == 0 && owner is not null)
        {
            Write(owner, p, unixNs, data, wireLength);
            return;
        }
        Enqueue(unixNs, wireLength, data, p, true, noted: owner is not null);
        Release(_latestNs);
    }

    private void Enqueue(long unixNs, int wireLength, ReadOnlySpan<byte> data, DecodedPacket p, bool decoded, bool noted = false) =>
        _held.Enqueue(new Held(unixNs, wireLength, data.ToArray(), p, decoded, noted));

    private void Release(long nowNs)
    {
        while (_held.TryPeek(out var h))
        {
            if (!h.Decoded)
            {
                writer.WritePacket(interfaceId, h.UnixNs, h.Data, h.WireLength); // a non-IP packet with --all-packets
            }
            else if (owners.Find(h.Packet.Protocol, h.Packet.Src, h.Packet.Dst, h.UnixNs) is { } owner)
            {
                if (!h.Noted)
                {
                    NoteClosing(h.Packet, h.UnixNs);
                }
                Write(owner, h.Packet, h.UnixNs, h.Data, h.WireLength);
            }
            else if (nowNs == long.MaxValue || nowNs - h.UnixNs >= HoldNs)
            {
                Unattributed++;
                if (allPackets)
                {
                    writer.WritePacket(interfaceId, h.UnixNs, h.Data, h.WireLength);
                }
            }
            else
            {
                return; // still within its wait: so is everything behind it
            }
            _held.Dequeue();
        }
    }

    private void Write(PacketOwner owner, in DecodedPacket p, long unixNs, ReadOnlySpan<byte> data, int wireLength)
    {
        Attributed++;
        if (p.IsTcp)
        {
            if (p.HasFlag(TcpFlags.Rst) || (owner.Outgoing && p.HasFlag(TcpFlags.Fin)))
            {
                owner.Marks.CloseWritten = true;
            }
            else if (!p.HasFlag(TcpFlags.Syn))
            {
                owner.Marks.Established = true;
            }
        }
        writer.WritePacket(interfaceId, unixNs, data, wireLength, owner.Comment);
    }

    // A FIN one way opens the wait, the FIN the other way (or a RST either way) ends it (RFC 9293, 3.6).
    private void NoteClosing(in DecodedPacket p, long unixNs)
    {
        if (!IsClosing(p))
        {
            return;
        }
        if ((p.TcpFlags & TcpFlags.Rst) != 0)
        {
            _halfClosed.Remove((p.Src, p.Dst));
            _halfClosed.Remove((p.Dst, p.Src));
        }
        else if (!_halfClosed.Remove((p.Dst, p.Src)) && _halfClosed.TryAdd((p.Src, p.Dst), unixNs))
        {
            _finOrder.Enqueue((unixNs, (p.Src, p.Dst)));
        }
        ExpireHalfClosed(unixNs);
    }

    private static bool IsClosing(in DecodedPacket p) =>
        p.Protocol == DecodedPacket.Tcp && (p.TcpFlags & (TcpFlags.Fin | TcpFlags.Rst)) != 0;

    // A peer's FIN later than PacketOwners.LingerNs would not be the connection's any more (no longer matched to it),
    // so the flow is not waited for, nor kept.
    private void ExpireHalfClosed(long nowNs)
    {
        while (_finOrder.TryPeek(out var f) && nowNs - f.FinNs > PacketOwners.LingerNs)
        {
            _finOrder.Dequeue();
            if (_halfClosed.TryGetValue(f.Flow, out long finNs) && finNs == f.FinNs)
            {
                _halfClosed.Remove(f.Flow);
            }
        }
    }

    private readonly record struct Held(long UnixNs, int WireLength, byte[] Data, DecodedPacket Packet, bool Decoded, bool Noted);
}
