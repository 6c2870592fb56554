using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Tattle.Capture.Proc;

/// <summary>Fills in the peer of connected unix sockets, which /proc/net/unix does not show, via one sock_diag dump.</summary>
/// <remarks>Peers are known for our own network namespace only (<see cref="SockDiag"/>); any failure leaves them unknown.</remarks>
internal static class UnixPeers
{
    private const byte AF_UNIX = 1;
    private const uint UDIAG_SHOW_NAME = 1;
    private const uint UDIAG_SHOW_PEER = 4;
    private const ushort UNIX_DIAG_NAME = 0;
    private const ushort UNIX_DIAG_PEER = 2;

    /// <summary>Sets UnixPeerInode/UnixPeerPath on the unix rows of namespace <paramref name="currentNs"/>.</summary>
    internal static void Fill(List<ProcessSocket> rows, ulong currentNs)
    {
        bool any = false;
        foreach (var r in rows)
        {
            if (r.Protocol == "unix" && r.NetNs == currentNs && r.State == "ESTABLISHED")
            {
                any = true;
                break;
            }
        }
        if (!any)
        {
            return;
        }
        var peers = new Dictionary<ulong, (ulong Peer, string? Name)>();
        if (!Dump(peers))
        {
            return;
        }
        foreach (var r in rows)
        {
            if (r.Protocol != "unix" || r.NetNs != currentNs || !peers.TryGetValue(r.Inode, out var me) || me.Peer == 0)
            {
                continue;
            }
            r.UnixPeerInode = me.Peer;
            r.UnixPeerPath = peers.TryGetValue(me.Peer, out var peer) ? peer.Name : null;
        }
    }

    /// <summary>Dumps every unix socket of our namespace with its name and peer inode; false on any error.</summary>
    internal static bool Dump(Dictionary<ulong, (ulong Peer, string? Name)> into)
    {
        // struct unix_diag_req { u8 family, protocol; u16 pad; u32 states; u32 ino; u32 show; u32 cookie[2]; }
        Span<byte> req = stackalloc byte[24];
        req.Clear();
        req[0] = AF_UNIX;
        BinaryPrimitives.WriteUInt32LittleEndian(req[4..], 0xFFFFFFFF); // all states
        BinaryPrimitives.WriteUInt32LittleEndian(req[12..], UDIAG_SHOW_NAME | UDIAG_SHOW_PEER);
        return SockDiag.Dump(req, message => ParseMessage(message, into));
    }

    private static void ParseMessage(ReadOnlySpan<byte> msg, Dictionary<ulong, (ulong Peer, string? Name)> into)
    {
        // struct unix_diag_msg { u8 family, type, state, pad; u32 ino; u32 cookie[2]; } then rtattrs.
        if (msg.Length < 16)
        {
            return;
        }
        ulong inode = MemoryMarshal.Read<uint>(msg[4..]);
        ulong peer = 0;
        string? name = null;
        var attrs = msg[16..];
        while (attrs.Length >= 4)
        {
            ushort alen = MemoryMarshal.Read<ushort>(attrs);
            ushort atype = MemoryMarshal.Read<ushort>(attrs[2..]);
            if (alen < 4 || alen > attrs.Length)
            {
                break;
            }
            var payload = attrs[4..alen];
            if (atype == UNIX_DIAG_PEER && payload.Length >= 4)
            {
                peer = MemoryMarshal.Read<uint>(payload);
            }
            else if (atype == UNIX_DIAG_NAME && payload.Length > 0)
            {
                // Abstract names start with NUL; /proc/net/unix shows every NUL as '@', so do the same.
                if (payload[0] != 0)
                {
                    payload = payload.TrimEnd((byte)0);
                }
                name = Encoding.UTF8.GetString(payload).Replace('\0', '@');
            }
            attrs = attrs[Math.Min(attrs.Length, SockDiag.Align(alen))..];
        }
        into[inode] = (peer, name);
    }
}
