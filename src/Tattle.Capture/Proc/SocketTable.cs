namespace Tattle.Capture.Proc;

/// <summary>Snapshots of which process holds which socket, from /proc, across network namespaces.</summary>
/// <remarks>
/// Why /proc text and not NETLINK_SOCK_DIAG: a sock_diag socket only sees the network namespace it was created in, so
/// covering every namespace means setns(CLONE_NEWNET) per namespace. That needs CAP_SYS_ADMIN, and it switches only the
/// calling OS thread; in a .NET process the runtime owns its threads (thread pool, finalizer, GC), so a thread left in
/// the wrong namespace, or managed code migrating between threads, would silently open later sockets in a foreign
/// namespace. /proc/PID/net/* shows the tables of PID's namespace to any reader allowed to see PID, with no state
/// change, and the fd → inode mapping has to come from /proc/PID/fd anyway. The text parse is cheap (span-based, one
/// allocation per socket). sock_diag is used only for what /proc lacks and only in our own namespace (unix peers).
///
/// Races are expected: processes and fds vanish during the walk and are skipped; EACCES is counted, not thrown.
/// </remarks>
public static class SocketTable
{
    private const int InitialTableBuffer = 256 * 1024;

    /// <summary>The sockets process <paramref name="pid"/> holds, in its own namespace(s); empty when the process is gone or not readable.</summary>
    public static IReadOnlyList<ProcessSocket> ForProcess(int pid) =>
        Snapshot(new SocketQuery { Pids = [pid], IncludeUnowned = false }).Rows;

    /// <summary>Walks /proc once for the sockets selected by <paramref name="q"/>.</summary>
    public static SocketSnapshot Snapshot(SocketQuery q)
    {
        ArgumentNullException.ThrowIfNull(q);
        var namespaces = NetNamespaces.Load();
        var users = UserNames.Default;
        int unreadable = 0;

        // 1. Candidate processes and their namespaces.
        var pids = new List<int>(1024);
        if (q.Pids is null)
        {
            _ = ProcNative.ReadNumericEntries("/proc\0"u8, pids);
        }
        else
        {
            pids.AddRange(q.Pids);
        }
        ulong wantedNs = q.AllNamespaces ? 0 : q.NetNs ?? (q.Pids is null ? NetNamespaces.Current : 0);
        var candidates = new List<(int Pid, ulong Ns)>(pids.Count);
        // Every process of a namespace, in walk order, so a table can still be read if the first one exits.
        var readersByNs = new Dictionary<ulong, List<int>>();
        foreach (int pid in pids)
        {
            int rc = NetNamespaces.TryGetOf(pid, out ulong ns);
            if (rc != 0)
            {
                if (rc is -ProcNative.EACCES or -ProcNative.EPERM)
                {
                    unreadable++;
                }
                continue;
            }
            if (wantedNs != 0 && ns != wantedNs)
            {
                continue;
            }
            if (!readersByNs.TryGetValue(ns, out var readers))
            {
                readersByNs[ns] = readers = [];
            }
            readers.Add(pid);
            if (q.Uid is uint wantUid && (!ProcessInfo.TryReadUid(pid, out uint uid) || uid != wantUid))
            {
                continue;
            }
            if (q.Comm is not null && !string.Equals(ProcessInfo.ReadComm(pid), q.Comm, StringComparison.Ordinal))
            {
                continue;
            }
            candidates.Add((pid, ns));
        }

        // 2. Each namespace's tables, read once through one of its processes.
        var byInode = new Dictionary<ulong, NetSocket>(4096);
        var unowned = new List<NetSocket>();
        bool wantUnowned = q.IncludeUnowned && !q.HasProcessFilter;
        int malformed = 0;
        int nsRead = 0;
        byte[] buffer = new byte[InitialTableBuffer];
        var neededNs = new HashSet<ulong>();
        foreach (var (_, ns) in candidates)
        {
            neededNs.Add(ns);
        }
        if (wantUnowned)
        {
            // Unowned sockets of a namespace are listed even when no candidate process holds anything there.
            foreach (ulong ns in readersByNs.Keys)
            {
                neededNs.Add(ns);
            }
        }
        foreach (ulong ns in neededNs)
        {
            if (ReadNamespace(ns, readersByNs[ns], q, ref buffer, byInode, wantUnowned ? unowned : null, ref malformed))
            {
                nsRead++;
            }
        }

        // 3. Map each candidate's socket fds to the sockets found.
        var rows = new List<ProcessSocket>();
        var held = new HashSet<ulong>();
        var fdScratch = new List<(int Fd, ulong Inode)>(64);
        var perProcess = new Dictionary<ulong, List<int>>();
        foreach (var (pid, ns) in candidates)
        {
            fdScratch.Clear();
            int rc = FdTable.ReadSockets(pid, fdScratch);
            if (rc != 0)
            {
                if (rc is -ProcNative.EACCES or -ProcNative.EPERM)
                {
                    unreadable++;
                }
                continue;
            }
            perProcess.Clear();
            foreach (var (fd, inode) in fdScratch)
            {
                if (!byInode.ContainsKey(inode))
                {
                    // Filtered out, or a socket from another namespace (passed in, or created before setns): not listed.
                    continue;
                }
                if (!perProcess.TryGetValue(inode, out var fds))
                {
                    perProcess[inode] = fds = new List<int>(1);
                }
                fds.Add(fd);
            }
            if (perProcess.Count == 0)
            {
                continue;
            }
            var info = ProcessInfo.TryRead(pid, ns, namespaces, users);
            if (info is null)
            {
                continue;
            }
            foreach (var (inode, fds) in perProcess)
            {
                var socket = byInode[inode];
                held.Add(inode);
                fds.Sort();
                rows.Add(new ProcessSocket { Socket = socket, Process = info, Fds = fds, NetNsName = namespaces.NameOf(socket.NetNs) });
            }
        }
        rows.Sort(static (a, b) => a.Pid != b.Pid ? a.Pid.CompareTo(b.Pid) : a.Fd.CompareTo(b.Fd));

        if (wantUnowned)
        {
            int start = rows.Count;
            foreach (var socket in byInode.Values)
            {
                if (!held.Contains(socket.Inode))
                {
                    unowned.Add(socket);
                }
            }
            foreach (var socket in unowned)
            {
                rows.Add(new ProcessSocket { Socket = socket, NetNsName = namespaces.NameOf(socket.NetNs) });
            }
            rows.Sort(start, rows.Count - start, Comparer<ProcessSocket>.Create(static (a, b) =>
                a.NetNs != b.NetNs ? a.NetNs.CompareTo(b.NetNs)
                : string.CompareOrdinal(a.Protocol, b.Protocol) is int c && c != 0 ? c
                : a.Inode.CompareTo(b.Inode)));
        }

        if ((q.Kinds & SocketKinds.Unix) != 0)
        {
            UnixPeers.Fill(rows, NetNamespaces.Current);
        }

        return new SocketSnapshot { Rows = rows, UnreadableProcesses = unreadable, MalformedLines = malformed, NamespacesRead = nsRead };
    }

    private static bool ReadNamespace(ulong ns, List<int> readers, SocketQuery q, ref byte[] buffer,
        Dictionary<ulong, NetSocket> byInode, List<NetSocket>? unowned, ref int malformed)
    {
        foreach (int reader in readers)
        {
            if (TryReadTables(reader, ns, q, ref buffer, byInode, unowned, ref malformed))
            {
                return true;
            }
        }
        return false;
    }

    private static bool TryReadTables(int pid, ulong ns, SocketQuery q, ref byte[] buffer,
        Dictionary<ulong, NetSocket> byInode, List<NetSocket>? unowned, ref int malformed)
    {
        bool any = false;
        Span<byte> path = stackalloc byte[64];
        for (var table = ProcNetTable.Tcp; table <= ProcNetTable.Netlink; table++)
        {
            if ((q.Kinds & KindOf(table)) == 0)
            {
                continue;
            }
            var p = new ProcPath(path).Add("/proc/"u8).Add(pid).Add("/net/"u8);
            ReadOnlySpan<byte> pathZ = table switch
            {
                ProcNetTable.Tcp => p.Add("tcp"u8).Terminated(),
                ProcNetTable.Tcp6 => p.Add("tcp6"u8).Terminated(),
                ProcNetTable.Udp => p.Add("udp"u8).Terminated(),
                ProcNetTable.Udp6 => p.Add("udp6"u8).Terminated(),
                ProcNetTable.Raw => p.Add("raw"u8).Terminated(),
                ProcNetTable.Raw6 => p.Add("raw6"u8).Terminated(),
                ProcNetTable.Unix => p.Add("unix"u8).Terminated(),
                ProcNetTable.Packet => p.Add("packet"u8).Terminated(),
                _ => p.Add("netlink"u8).Terminated(),
            };
            int n = ProcNative.ReadFile(pathZ, ref buffer);
            if (n < 0)
            {
                if (n is -ProcNative.ENOENT && NetNamespaces.TryGetOf(pid, out ulong still) == 0 && still == ns)
                {
                    // The process is alive but the kernel lacks this table (e.g. IPv6 disabled).
                    continue;
                }
                if (any || n is not (-ProcNative.ENOENT or -ProcNative.ESRCH))
                {
                    continue;
                }
                return false;
            }
            // The process may have exited and its pid been reused in another namespace between the two reads.
            if (NetNamespaces.TryGetOf(pid, out ulong now) != 0 || now != ns)
            {
                return false;
            }
            any = true;
            malformed += ProcNetParser.ParseTable(table, buffer.AsSpan(0, n), s =>
            {
                if (q.ListeningOnly && !s.IsListening)
                {
                    return;
                }
                s.NetNs = ns;
                if (s.Inode == 0)
                {
                    unowned?.Add(s);
                }
                else
                {
                    byInode.TryAdd(s.Inode, s);
                }
            });
        }
        return any;
    }

    private static SocketKinds KindOf(ProcNetTable table) => table switch
    {
        ProcNetTable.Tcp or ProcNetTable.Tcp6 => SocketKinds.Tcp,
        ProcNetTable.Udp or ProcNetTable.Udp6 => SocketKinds.Udp,
        ProcNetTable.Raw or ProcNetTable.Raw6 => SocketKinds.Raw,
        ProcNetTable.Unix => SocketKinds.Unix,
        ProcNetTable.Packet => SocketKinds.Packet,
        _ => SocketKinds.Netlink,
    };
}
