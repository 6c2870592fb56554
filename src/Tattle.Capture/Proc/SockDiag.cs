using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Tattle.Interop;

namespace Tattle.Capture.Proc;

/// <summary>
/// One sock_diag dump (netlink, <c>SOCK_DIAG_BY_FAMILY</c>): what /proc/net's tables leave out. A sock_diag socket
/// sees only the namespace it was created in, and we never setns (see <see cref="SocketTable"/>), so every dump is of
/// our own network namespace.
/// </summary>
internal static unsafe partial class SockDiag
{
    private const int AF_NETLINK = 16;
    private const int SOCK_RAW = 3;
    private const int SOCK_CLOEXEC = 0x80000;
    private const int NETLINK_SOCK_DIAG = 4;
    private const ushort SOCK_DIAG_BY_FAMILY = 20;
    private const ushort NLM_F_REQUEST = 1;
    private const ushort NLM_F_DUMP = 0x300;
    private const ushort NLMSG_ERROR = 2;
    private const ushort NLMSG_DONE = 3;
    private const int HeaderBytes = 16;

    /// <summary>Receives one message of a dump: the family's diag struct and its rtattrs, without the netlink header.</summary>
    internal delegate void MessageHandler(ReadOnlySpan<byte> message);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(int fd, byte* buf, nint len, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(int fd, byte* buf, nint len, int flags);

    /// <summary>
    /// Sends <paramref name="request"/> (the family's request struct, after the netlink header this adds) as a dump
    /// and hands each message to <paramref name="onMessage"/>; false on any error, which leaves what was handed over.
    /// </summary>
    internal static bool Dump(ReadOnlySpan<byte> request, MessageHandler onMessage)
    {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0)
        {
            return false;
        }
        try
        {
            int length = HeaderBytes + request.Length;
            Span<byte> req = stackalloc byte[length];
            req.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(req, (uint)length);
            BinaryPrimitives.WriteUInt16LittleEndian(req[4..], SOCK_DIAG_BY_FAMILY);
            BinaryPrimitives.WriteUInt16LittleEndian(req[6..], NLM_F_REQUEST | NLM_F_DUMP);
            BinaryPrimitives.WriteUInt32LittleEndian(req[8..], 1);
            request.CopyTo(req[HeaderBytes..]);
            fixed (byte* r = req)
            {
                if (send(fd, r, length, 0) != length)
                {
                    return false;
                }
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
                    while (data.Length >= HeaderBytes)
                    {
                        uint len = BinaryPrimitives.ReadUInt32LittleEndian(data);
                        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
                        if (len < HeaderBytes || len > data.Length)
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
                        onMessage(data[HeaderBytes..(int)len]);
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

    /// <summary>Netlink messages and attributes start on 4-byte boundaries.</summary>
    internal static int Align(uint len) => (int)((len + 3) & ~3u);
}
