using System.Net;

namespace Tattle.Capture.Proc;

/// <summary>One socket as a network namespace's /proc/net tables describe it, before it is matched to processes.</summary>
public sealed class NetSocket
{
    /// <summary>sockfs inode; unique on the host, across namespaces. 0 for sockets no fd can hold (TIME_WAIT, half-open).</summary>
    public required ulong Inode { get; init; }

    /// <summary>"tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix", "packet" or "netlink"; for sockets in no table, sockfs's lower-cased name ("alg", "vsock", "icmp", ...).</summary>
    public required string Protocol { get; init; }

    /// <summary>"UNKNOWN" for sockets in no table; otherwise TCP names for tcp ("LISTEN", "ESTABLISHED", ...), "UNCONN"/"ESTABLISHED" for datagram sockets, "LISTEN"/"ESTABLISHED"/"UNCONN" for unix.</summary>
    public required string State { get; init; }

    /// <summary>Local address and port (raw sockets: the port is the IP protocol number); null for unix, packet and netlink.</summary>
    public IPEndPoint? Local { get; init; }

    /// <summary>Remote address and port; null when not applicable.</summary>
    public IPEndPoint? Remote { get; init; }

    /// <summary>Bound path of a unix socket; abstract names start with '@'. Null when unbound or not unix.</summary>
    public string? UnixPath { get; init; }

    /// <summary>Unix socket type: "stream", "dgram" or "seqpacket"; null for other families.</summary>
    public string? UnixType { get; init; }

    /// <summary>Bytes (or, for a listening TCP socket, connections) waiting to be read.</summary>
    public long RxQueue { get; init; }

    /// <summary>Bytes not yet sent or acknowledged.</summary>
    public long TxQueue { get; init; }

    /// <summary>
    /// A listening TCP socket's backlog (listen()'s argument, capped by net.core.somaxconn: what <c>ss -l</c> shows as
    /// Send-Q); null for other sockets, and in other network namespaces, where no table shows it.
    /// </summary>
    public long? Backlog { get; internal set; }

    /// <summary>uid the kernel records for the socket (its creator); -1 when the table has none (unix).</summary>
    public long Uid { get; init; } = -1;

    /// <summary>Family-specific detail for packet and netlink sockets, e.g. "proto=route,portid=812".</summary>
    public string? Detail { get; init; }

    /// <summary>Inode of the network namespace whose tables listed the socket; 0 when no table we read lists it.</summary>
    public ulong NetNs { get; internal set; }

    /// <summary>True for sockets that accept connections or receive unconnected datagrams (what ss -l shows).</summary>
    public bool IsListening => State is "LISTEN" || (State is "UNCONN" && Protocol is not ("unix" or "netlink" or "packet"));
}
