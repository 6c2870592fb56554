namespace Tattle.Capture.Proc;

/// <summary>Socket families a query selects; flags so -t -u -x combine.</summary>
[Flags]
public enum SocketKinds
{
    /// <summary>Nothing.</summary>
    None = 0,
    /// <summary>tcp and tcp6.</summary>
    Tcp = 1,
    /// <summary>udp and udp6.</summary>
    Udp = 2,
    /// <summary>unix domain sockets.</summary>
    Unix = 4,
    /// <summary>raw and raw6.</summary>
    Raw = 8,
    /// <summary>AF_PACKET.</summary>
    Packet = 16,
    /// <summary>AF_NETLINK.</summary>
    Netlink = 32,
    /// <summary>Every family the kernel lists under /proc/net.</summary>
    All = Tcp | Udp | Unix | Raw | Packet | Netlink,
}

/// <summary>Which sockets a <see cref="SocketTable.Snapshot"/> returns.</summary>
public sealed class SocketQuery
{
    /// <summary>Only these processes; null for all.</summary>
    public IReadOnlyList<int>? Pids { get; init; }

    /// <summary>Only processes whose comm equals this; null for all.</summary>
    public string? Comm { get; init; }

    /// <summary>Only processes owned by this uid; null for all.</summary>
    public uint? Uid { get; init; }

    /// <summary>Only this network namespace; null means the caller's own namespace, unless <see cref="Pids"/> or <see cref="AllNamespaces"/> is set.</summary>
    public ulong? NetNs { get; init; }

    /// <summary>Every namespace any process is in (each walked once).</summary>
    public bool AllNamespaces { get; init; }

    /// <summary>Families to list.</summary>
    public SocketKinds Kinds { get; init; } = SocketKinds.All;

    /// <summary>Only listening sockets (TCP/unix LISTEN, unconnected UDP/raw), as ss -l.</summary>
    public bool ListeningOnly { get; init; }

    /// <summary>Also list sockets no process holds (TIME_WAIT, kernel sockets); ignored when a process filter is set.</summary>
    public bool IncludeUnowned { get; init; } = true;

    /// <summary>True when rows are restricted to some processes, so unowned sockets cannot match.</summary>
    public bool HasProcessFilter => Pids is not null || Comm is not null || Uid is not null;
}
