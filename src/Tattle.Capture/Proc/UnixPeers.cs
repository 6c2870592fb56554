using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Tattle.Interop;

namespace Tattle.Capture.Proc;

/// <summary>Fills in the peer of connected unix sockets, which /proc/net/unix does not show, via one sock_diag dump.</summary>
/// <remarks>
/// A sock_diag socket sees only the namespace it was created in, and we never setns (see <see cref="SocketTable"/>),
/// so peers are known for our own network namespace only. Any failure just leaves the peer unknown.
/// </remarks>
internal static unsafe partial class UnixPeers
{
    private const int AF_NETLINK = 16;
    private const int AF_UNIX = 1;
    private const int SOCK_RAW = 3;
    private const int SOCK_CLOEXEC = 0x80000;
    private const int NETLINK_SOCK_DIAG = 4;
    private const ushort SOCK_DIAG_BY_FAMILY = 20;
    private const ushort NLM_F_REQUEST = 1;
    private const ushort NLM_F_DUMP = 0x300;
    private const ushort NLMSG_ERROR = 2;
    private const ushort NLMSG_DONE = 3;
    private const uint UDIAG_SHOW_NAME = 1;
    private const uint UDIAG_SHOW_PEER = 4;
    private const ushort UNIX_DIAG_NAME = 0;
    private const ushort UNIX_DIAG_PEER = 2;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(int fd, byte* buf, nint len, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(int fd, byte* buf, nint len, int flags);

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
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0)
        {
            return false;
        }
        try
        {
            byte* req = stackalloc byte[40];
            new Span<byte>(req, 40).Clear();
            *(uint*)req = 40;
            *(ushort*)(req + 4) = SOCK_DIAG_BY_FAMILY;
            *(ushort*)(req + 6) = NLM_F_REQUEST | NLM_F_DUMP;
            *(uint*)(req + 8) = 1;
            req[16] = AF_UNIX;
            *(uint*)(req + 20) = 0xFFFFFFFF; // all states
            *(uint*)(req + 28) = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER;
            if (send(fd, req, 40, 0) != 40)
            {
                return false;
            }
            byte[] buffer = new byte[64 * 1024];
            fixed (byte* b = buffer)
            {
                while (true)
                {
                    nint n = recv(fd, b, buffer.Length, 0);
                    if (n <= 0)
                    {
                        return false;
                    }
                    var data = new ReadOnlySpan<byte>(b, (int)n);
                    while (data.Length >= 16)
                    {
                        uint len = BinaryPrimitives.ReadUInt32LittleEndian(data);
                        ushort type = MemoryMarshal.Read<ushort>(data[4..]);
                        if (len < 16 || len > data.Length)
                        {
                            return false;
                        }
                        if (type == NLMSG_DONE)
                        {
                            return true;
                        }
                        if (type == NLMSG_ERROR)
                        {
                            return false;
                        }
                        ParseMessage(data[16..(int)len], into);
                        data = data[Math.Min(data.Length, Align(len))..];
                    }
                }
            }
        }
        finally
        {
            _ = Libc.Close(fd);
        }
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
            attrs = attrs[Math.Min(attrs.Length, (int)Align(alen))..];
        }
        into[inode] = (peer, name);
    }

    private static int Align(uint len) => (int)((len + 3) & ~3u);
}
