using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;

namespace Tattle.Capture.Proc;

/// <summary>Which /proc/net table a line comes from; it decides the line format.</summary>
public enum ProcNetTable
{
    /// <summary>/proc/net/tcp</summary>
    Tcp,
    /// <summary>/proc/net/tcp6</summary>
    Tcp6,
    /// <summary>/proc/net/udp</summary>
    Udp,
    /// <summary>/proc/net/udp6</summary>
    Udp6,
    /// <summary>/proc/net/raw</summary>
    Raw,
    /// <summary>/proc/net/raw6</summary>
    Raw6,
    /// <summary>/proc/net/unix</summary>
    Unix,
    /// <summary>/proc/net/packet</summary>
    Packet,
    /// <summary>/proc/net/netlink</summary>
    Netlink,
}

/// <summary>Span-based parsers for the /proc/net socket tables; bad input yields false, never an exception.</summary>
/// <remarks>
/// Formats are the kernel's seq_file output (net/ipv4/tcp_ipv4.c, udp.c, raw.c, net/ipv6/*, net/unix/af_unix.c,
/// net/packet/af_packet.c, net/netlink/af_netlink.c). Addresses are printed as the in-memory bytes of host-order u32
/// words, so they are converted back with the host's endianness, not network order.
/// </remarks>
public static class ProcNetParser
{
    private static readonly string[] TcpStates =
    [
        "UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
        "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV", "BOUND_INACTIVE",
    ];

    /// <summary>File name under /proc/PID/net/ of each table.</summary>
    public static string FileName(ProcNetTable table) => table switch
    {
        ProcNetTable.Tcp => "tcp",
        ProcNetTable.Tcp6 => "tcp6",
        ProcNetTable.Udp => "udp",
        ProcNetTable.Udp6 => "udp6",
        ProcNetTable.Raw => "raw",
        ProcNetTable.Raw6 => "raw6",
        ProcNetTable.Unix => "unix",
        ProcNetTable.Packet => "packet",
        _ => "netlink",
    };

    /// <summary>Protocol label used in rows ("tcp6", "unix", ...); same as the file name.</summary>
    public static string ProtocolName(ProcNetTable table) => FileName(table);

    /// <summary>Name of a TCP state number as the kernel's include/net/tcp_states.h orders them.</summary>
    public static string TcpStateName(int state) => (uint)state < (uint)TcpStates.Length ? TcpStates[state] : "UNKNOWN";

    /// <summary>Parses one line of any table; false for the header line and for malformed lines.</summary>
    public static bool TryParseLine(ProcNetTable table, ReadOnlySpan<byte> line, out NetSocket? socket) => table switch
    {
        ProcNetTable.Unix => TryParseUnix(line, out socket),
        ProcNetTable.Packet => TryParsePacket(line, out socket),
        ProcNetTable.Netlink => TryParseNetlink(line, out socket),
        _ => TryParseInet(table, line, out socket),
    };

    /// <summary>Parses a whole table file, calling <paramref name="onSocket"/> per socket; returns the number of malformed lines.</summary>
    public static int ParseTable(ProcNetTable table, ReadOnlySpan<byte> content, Action<NetSocket> onSocket)
    {
        int malformed = 0;
        bool first = true;
        while (!content.IsEmpty)
        {
            int nl = content.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = nl < 0 ? content : content[..nl];
            content = nl < 0 ? default : content[(nl + 1)..];
            if (first)
            {
                // The first line is always the column header.
                first = false;
                continue;
            }
            if (line.Trim((byte)' ').IsEmpty)
            {
                continue;
            }
            if (TryParseLine(table, line, out NetSocket? s))
            {
                onSocket(s!);
            }
            else
            {
                malformed++;
            }
        }
        return malformed;
    }

    /// <summary>tcp, tcp6, udp, udp6, raw, raw6: "sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...".</summary>
    public static bool TryParseInet(ProcNetTable table, ReadOnlySpan<byte> line, out NetSocket? socket)
    {
        socket = null;
        var f = new FieldReader(line);
        if (!f.Next(out var sl) || sl.IsEmpty || sl[^1] != (byte)':'
            || !f.Next(out var local) || !f.Next(out var remote) || !f.Next(out var st)
            || !f.Next(out var queues) || !f.Next(out _) || !f.Next(out _)
            || !f.Next(out var uid) || !f.Next(out _) || !f.Next(out var inode))
        {
            return false;
        }
        bool v6 = table is ProcNetTable.Tcp6 or ProcNetTable.Udp6 or ProcNetTable.Raw6;
        if (!TryParseEndPoint(local, v6, out var localEp) || !TryParseEndPoint(remote, v6, out var remoteEp)
            || !TryHex(st, out uint state) || !TrySplitHexPair(queues, out uint tx, out uint rx)
            || !TryDec(uid, out ulong uidValue) || !TryDec(inode, out ulong ino))
        {
            return false;
        }
        string stateName = table is ProcNetTable.Tcp or ProcNetTable.Tcp6
            ? TcpStateName((int)state)
            : state == 1 ? "ESTABLISHED" : state == 7 ? "UNCONN" : TcpStateName((int)state);
        socket = new NetSocket
        {
            Inode = ino,
            Protocol = ProtocolName(table),
            State = stateName,
            Local = localEp,
            Remote = remoteEp,
            TxQueue = tx,
            RxQueue = rx,
            Uid = (long)uidValue,
        };
        return true;
    }

    /// <summary>unix: "Num: RefCount Protocol Flags Type St Inode [Path]"; the path may contain spaces.</summary>
    public static bool TryParseUnix(ReadOnlySpan<byte> line, out NetSocket? socket)
    {
        socket = null;
        var f = new FieldReader(line);
        if (!f.Next(out var num) || num.IsEmpty || num[^1] != (byte)':'
            || !f.Next(out _) || !f.Next(out _) || !f.Next(out var flags) || !f.Next(out var type)
            || !f.Next(out var st) || !f.Next(out var inode)
            || !TryHex(flags, out uint flagBits) || !TryHex(type, out uint typeValue) || !TryHex(st, out uint stValue)
            || !TryDec(inode, out ulong ino))
        {
            return false;
        }
        ReadOnlySpan<byte> rest = f.Rest;
        string? path = null;
        if (!rest.IsEmpty && rest[0] == (byte)' ')
        {
            // Exactly one separator; the path itself may begin with or contain spaces.
            rest = rest[1..];
            if (!rest.IsEmpty)
            {
                path = Encoding.UTF8.GetString(rest);
            }
        }
        const uint SoAcceptCon = 0x10000;
        string state = (flagBits & SoAcceptCon) != 0 ? "LISTEN" : stValue switch
        {
            1 => "UNCONN",
            2 => "CONNECTING",
            3 => "ESTABLISHED",
            4 => "DISCONNECTING",
            _ => "UNKNOWN",
        };
        string unixType = typeValue switch
        {
            1 => "stream",
            2 => "dgram",
            5 => "seqpacket",
            _ => "type" + typeValue.ToString(CultureInfo.InvariantCulture),
        };
        socket = new NetSocket { Inode = ino, Protocol = "unix", State = state, UnixPath = path, UnixType = unixType };
        return true;
    }

    /// <summary>packet: "sk RefCnt Type Proto Iface R Rmem User Inode".</summary>
    public static bool TryParsePacket(ReadOnlySpan<byte> line, out NetSocket? socket)
    {
        socket = null;
        var f = new FieldReader(line);
        if (!f.Next(out var sk) || !TryHex(sk, out ulong _)
            || !f.Next(out _) || !f.Next(out var type) || !f.Next(out var proto) || !f.Next(out var iface)
            || !f.Next(out var running) || !f.Next(out var rmem) || !f.Next(out var user) || !f.Next(out var inode)
            || !TryDec(type, out ulong typeValue) || !TryHex(proto, out uint protoValue) || !TryDec(iface, out ulong ifindex)
            || !TryDec(rmem, out ulong rmemValue) || !TryDec(user, out ulong uid) || !TryDec(inode, out ulong ino))
        {
            return false;
        }
        string typeName = typeValue switch { 2 => "dgram", 3 => "raw", _ => typeValue.ToString(CultureInfo.InvariantCulture) };
        socket = new NetSocket
        {
            Inode = ino,
            Protocol = "packet",
            State = running.SequenceEqual("1"u8) ? "RUNNING" : "UNCONN",
            RxQueue = (long)rmemValue,
            Uid = (long)uid,
            Detail = string.Create(CultureInfo.InvariantCulture, $"type={typeName},proto=0x{protoValue:x4},ifindex={ifindex}"),
        };
        return true;
    }

    /// <summary>netlink: "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode".</summary>
    public static bool TryParseNetlink(ReadOnlySpan<byte> line, out NetSocket? socket)
    {
        socket = null;
        var f = new FieldReader(line);
        if (!f.Next(out var sk) || !TryHex(sk, out ulong _)
            || !f.Next(out var eth) || !f.Next(out var portid) || !f.Next(out var groups)
            || !f.Next(out var rmem) || !f.Next(out var wmem) || !f.Next(out _) || !f.Next(out _) || !f.Next(out _)
            || !f.Next(out var inode)
            || !TryDec(eth, out ulong protocol) || !TryDec(portid, out ulong port) || !TryHex(groups, out uint _)
            || !TryDec(rmem, out ulong r) || !TryDec(wmem, out ulong w) || !TryDec(inode, out ulong ino))
        {
            return false;
        }
        socket = new NetSocket
        {
            Inode = ino,
            Protocol = "netlink",
            State = "UNCONN",
            RxQueue = (long)r,
            TxQueue = (long)w,
            Detail = string.Create(CultureInfo.InvariantCulture, $"proto={NetlinkProtocolName((int)protocol)},portid={port}"),
        };
        return true;
    }

    /// <summary>Name of a netlink protocol number (include/uapi/linux/netlink.h).</summary>
    public static string NetlinkProtocolName(int protocol) => protocol switch
    {
        0 => "route",
        2 => "usersock",
        4 => "sock_diag",
        5 => "nflog",
        6 => "xfrm",
        7 => "selinux",
        8 => "iscsi",
        9 => "audit",
        10 => "fib_lookup",
        11 => "connector",
        12 => "netfilter",
        15 => "kobject_uevent",
        16 => "generic",
        18 => "scsitransport",
        19 => "ecryptfs",
        20 => "rdma",
        21 => "crypto",
        22 => "smc",
        _ => protocol.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Parses "0100007F:0035" (v4, 8 hex digits) or a 32-digit v6 address and a 4-digit port.</summary>
    public static bool TryParseEndPoint(ReadOnlySpan<byte> text, bool v6, out IPEndPoint? endPoint)
    {
        endPoint = null;
        int colon = text.IndexOf((byte)':');
        if (colon < 0)
        {
            return false;
        }
        ReadOnlySpan<byte> addr = text[..colon];
        if (addr.Length != (v6 ? 32 : 8) || !TryHex(text[(colon + 1)..], out uint port) || port > 0xFFFF)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[16];
        int words = addr.Length / 8;
        for (int i = 0; i < words; i++)
        {
            if (!TryHex(addr.Slice(i * 8, 8), out uint word))
            {
                return false;
            }
            // The kernel printed the u32 as it sits in memory, so write it back in host order.
            if (BitConverter.IsLittleEndian)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes[(i * 4)..], word);
            }
            else
            {
                BinaryPrimitives.WriteUInt32BigEndian(bytes[(i * 4)..], word);
            }
        }
        endPoint = new IPEndPoint(new IPAddress(bytes[..(words * 4)]), (int)port);
        return true;
    }

    private static bool TrySplitHexPair(ReadOnlySpan<byte> text, out uint a, out uint b)
    {
        b = 0;
        int colon = text.IndexOf((byte)':');
        a = 0;
        return colon > 0 && TryHex(text[..colon], out a) && TryHex(text[(colon + 1)..], out b);
    }

    private static bool TryHex(ReadOnlySpan<byte> text, out uint value)
    {
        value = 0;
        return !text.IsEmpty && text.Length <= 8 && uint.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private static bool TryHex(ReadOnlySpan<byte> text, out ulong value)
    {
        value = 0;
        return !text.IsEmpty && text.Length <= 16 && ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private static bool TryDec(ReadOnlySpan<byte> text, out ulong value)
    {
        value = 0;
        return !text.IsEmpty && ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Splits a line on runs of spaces without allocating.</summary>
    private ref struct FieldReader(ReadOnlySpan<byte> line)
    {
        private ReadOnlySpan<byte> _rest = line.TrimEnd((byte)'\r');

        /// <summary>What follows the last field read, separator included.</summary>
        public readonly ReadOnlySpan<byte> Rest => _rest;

        public bool Next(out ReadOnlySpan<byte> field)
        {
            int start = 0;
            while (start < _rest.Length && _rest[start] == (byte)' ')
            {
                start++;
            }
            if (start == _rest.Length)
            {
                field = default;
                _rest = default;
                return false;
            }
            ReadOnlySpan<byte> s = _rest[start..];
            int end = s.IndexOf((byte)' ');
            if (end < 0)
            {
                end = s.Length;
            }
            field = s[..end];
            _rest = s[end..];
            return true;
        }
    }
}
