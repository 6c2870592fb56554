using System.Buffers.Binary;

namespace Tattle.Capture.Proc;

/// <summary>
/// Fills in the backlog of listening TCP sockets (listen()'s argument, capped by <c>net.core.somaxconn</c>), which
/// /proc/net/tcp does not show and <c>ss -l</c> shows as Send-Q, from a sock_diag dump per address family.
/// </summary>
/// <remarks>Known in our own network namespace only (<see cref="SockDiag"/>); any failure leaves it unknown.</remarks>
internal static class ListenBacklogs
{
    private const byte AF_INET = 2;
    private const byte AF_INET6 = 10;
    private const byte IPPROTO_TCP = 6;
    private const int TCP_LISTEN = 10;

    /// <summary>Sets <see cref="NetSocket.Backlog"/> on the listening TCP rows of namespace <paramref name="currentNs"/>.</summary>
    internal static void Fill(List<ProcessSocket> rows, ulong currentNs)
    {
        Dictionary<ulong, long>? backlogs = null;
        foreach (var r in rows)
        {
            if (r.Protocol is not ("tcp" or "tcp6") || r.State != "LISTEN" || r.NetNs != currentNs || r.Inode == 0)
            {
                continue;
            }
            backlogs ??= Dump();
            if (backlogs.TryGetValue(r.Inode, out long backlog))
            {
                r.Socket.Backlog = backlog;
            }
        }
    }

    private static Dictionary<ulong, long> Dump()
    {
        var backlogs = new Dictionary<ulong, long>();
        // struct inet_diag_req_v2 { u8 family, protocol, ext, pad; u32 states; struct inet_diag_sockid id (48); }
        Span<byte> req = stackalloc byte[56];
        foreach (byte family in (ReadOnlySpan<byte>)[AF_INET, AF_INET6])
        {
            req.Clear();
            req[0] = family;
            req[1] = IPPROTO_TCP;
            BinaryPrimitives.WriteUInt32LittleEndian(req[4..], 1u << TCP_LISTEN);
            SockDiag.Dump(req, message =>
            {
                // struct inet_diag_msg { u8 family, state, timer, retrans; struct inet_diag_sockid id (48);
                // u32 expires, rqueue, wqueue, uid, inode; }: for a listener wqueue is sk_max_ack_backlog.
                if (message.Length >= 72 && message[1] == TCP_LISTEN)
                {
                    backlogs[BinaryPrimitives.ReadUInt32LittleEndian(message[68..])] =
                        BinaryPrimitives.ReadUInt32LittleEndian(message[60..]);
                }
            });
        }
        return backlogs;
    }
}
