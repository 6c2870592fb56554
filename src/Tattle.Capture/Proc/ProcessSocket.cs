using System.Net;

namespace Tattle.Capture.Proc;

/// <summary>One row: a socket and one process holding it (a socket held by several processes gives several rows).</summary>
public sealed class ProcessSocket
{
    /// <summary>The socket as /proc/net lists it.</summary>
    public required NetSocket Socket { get; init; }

    /// <summary>The holder; null for a socket no process holds.</summary>
    public ProcessInfo? Process { get; init; }

    /// <summary>Every fd number under which the process holds the socket (dup/SCM_RIGHTS can give several), ascending.</summary>
    public IReadOnlyList<int> Fds { get; init; } = [];

    /// <summary>Lowest fd holding the socket; -1 when no process holds it.</summary>
    public int Fd => Fds.Count > 0 ? Fds[0] : -1;

    /// <summary>Holder pid; 0 when no process holds it.</summary>
    public int Pid => Process?.Pid ?? 0;

    /// <summary>Socket inode (the N in "socket:[N]").</summary>
    public ulong Inode => Socket.Inode;

    /// <summary>"tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix", "packet", "netlink".</summary>
    public string Protocol => Socket.Protocol;

    /// <summary>State name, e.g. "LISTEN", "ESTABLISHED", "UNCONN".</summary>
    public string State => Socket.State;

    /// <summary>Local address and port (inet families only).</summary>
    public IPEndPoint? Local => Socket.Local;

    /// <summary>Remote address and port (inet families only).</summary>
    public IPEndPoint? Remote => Socket.Remote;

    /// <summary>Bound path of a unix socket ('@' = abstract), or null.</summary>
    public string? UnixPath => Socket.UnixPath;

    /// <summary>Bound path of the connected peer of a unix socket, when known (current namespace only) and bound.</summary>
    public string? UnixPeerPath { get; internal set; }

    /// <summary>Inode of the connected peer of a unix socket; 0 when unknown.</summary>
    public ulong UnixPeerInode { get; internal set; }

    /// <summary>Receive queue (see <see cref="NetSocket.RxQueue"/>).</summary>
    public long RxQueue => Socket.RxQueue;

    /// <summary>Send queue (see <see cref="NetSocket.TxQueue"/>).</summary>
    public long TxQueue => Socket.TxQueue;

    /// <summary>A listening TCP socket's backlog (see <see cref="NetSocket.Backlog"/>).</summary>
    public long? Backlog => Socket.Backlog;

    /// <summary>Network namespace id of the socket.</summary>
    public ulong NetNs => Socket.NetNs;

    /// <summary>Name of that namespace under /run/netns, or null.</summary>
    public string? NetNsName { get; init; }

    /// <summary>Holder's command name, or null.</summary>
    public string? Comm => Process?.Comm;

    /// <summary>Holder's user, or null.</summary>
    public string? User => Process?.User;

    /// <summary>Holder's container id, or null.</summary>
    public string? ContainerId => Process?.ContainerId;
}

/// <summary>Result of a host walk: the rows plus what could not be read.</summary>
public sealed class SocketSnapshot
{
    /// <summary>Rows ordered by pid, then fd; unowned sockets last.</summary>
    public required IReadOnlyList<ProcessSocket> Rows { get; init; }

    /// <summary>Processes skipped because permission was denied (only non-root sees this).</summary>
    public int UnreadableProcesses { get; init; }

    /// <summary>/proc/net lines that did not parse (kernel format changes; never fatal).</summary>
    public int MalformedLines { get; init; }

    /// <summary>Distinct network namespaces whose tables were read.</summary>
    public int NamespacesRead { get; init; }
}
