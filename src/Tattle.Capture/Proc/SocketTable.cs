using Tattle.Interop;

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

    /// <summary>Up to this many processes (-p), sockets are read through their fds rather than the namespace's tables.</summary>
    private const int MaxProbedProcesses = 16;

    /// <summary>Past this many sockets held, reading the tables once is cheaper than a probe per socket.</summary>
    private const int MaxProbedSockets = 2048;

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
            foreach (int pid in q.Pids)
            {
                // A pid given twice must not give every row twice.
                if (!pids.Contains(pid))
                {
                    pids.Add(pid);
                }
            }
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
                // Counted only for a process the query asks for: with --comm nginx, another's says nothing.
                if (rc is -Errno.EACCES or -Errno.EPERM && Wanted(pid, q))
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
            if (Wanted(pid, q))
            {
                candidates.Add((pid, ns));
            }
        }

        // 2. Read each namespace's tables (through one of its processes) and the candidates' fd tables in parallel:
        // both are kernel-bound (/proc/net/udp alone costs O(n²) in the kernel on big hosts), so they overlap well.
        bool wantUnowned = q.IncludeUnowned && !q.HasProcessFilter;
        var neededNs = new HashSet<ulong>();
        foreach (var (_, ns) in candidates)
        {
            neededNs.Add(ns);
        }
        if (wantUnowned)
        {
            // Unowned sockets of a namespace are listed even when no candidate process holds anything there.
            neededNs.UnionWith(readersByNs.Keys);
        }
        int chunkCount = Math.Clamp(candidates.Count / 8, 1, Environment.ProcessorCount);
        var fdJobs = new FdJob[chunkCount];
        for (int i = 0; i < chunkCount; i++)
        {
            fdJobs[i] = new FdJob();
        }
        for (int i = 0; i < candidates.Count; i++)
        {
            fdJobs[i % chunkCount].Processes.Add(candidates[i]);
        }
        // -p with a few processes: their fds first; their TCP sockets are read through the fds themselves, and only
        // the tables of the other families they hold are read, so the cost does not grow with the host's sockets.
        var byInode = new Dictionary<ulong, NetSocket>(4096);
        var tableKinds = q.Kinds;
        bool fdsFirst = q.Pids is not null && !wantUnowned && candidates.Count <= MaxProbedProcesses;
        if (fdsFirst)
        {
            foreach (var job in fdJobs)
            {
                job.Run();
            }
            tableKinds = ProbeHeld(fdJobs, q, byInode);
        }
        var tableJobs = new List<TableJob>();
        foreach (ulong ns in neededNs)
        {
            foreach (var group in (ReadOnlySpan<SocketKinds>)[SocketKinds.Tcp, SocketKinds.Udp, SocketKinds.Unix | SocketKinds.Raw | SocketKinds.Packet | SocketKinds.Netlink])
            {
                if ((group & tableKinds) != 0)
                {
                    tableJobs.Add(new TableJob(ns, readersByNs[ns], group & tableKinds, q.ListeningOnly));
                }
            }
        }
        int fdJobCount = fdsFirst ? 0 : fdJobs.Length;
        int jobCount = fdJobCount + tableJobs.Count;
        if (jobCount == 1 && fdJobCount == 1)
        {
            fdJobs[0].Run();
        }
        else if (jobCount > 0)
        {
            Parallel.For(0, jobCount, i =>
            {
                if (i < fdJobCount)
                {
                    fdJobs[i].Run();
                }
                else
                {
                    tableJobs[i - fdJobCount].Run();
                }
            });
        }

        var unowned = new List<NetSocket>();
        var nsDone = new HashSet<ulong>();
        int malformed = 0;
        if (fdsFirst)
        {
            foreach (var job in fdJobs)
            {
                nsDone.UnionWith(job.NamespacesSeen); // their sockets were read, with or without a table
            }
        }
        foreach (var job in tableJobs)
        {
            malformed += job.Malformed;
            if (job.Succeeded)
            {
                nsDone.Add(job.Ns);
            }
            foreach (var socket in job.Sockets)
            {
                if (socket.Inode == 0)
                {
                    if (wantUnowned)
                    {
                        unowned.Add(socket);
                    }
                }
                else
                {
                    byInode.TryAdd(socket.Inode, socket);
                }
            }
        }

        // 3. Match fds to sockets; a process holding one socket under several fds gives one row.
        // Sockets in no table we read ("strays") are identified by sockfs's xattr; skipped for big filtered walks
        // (e.g. -t on a host full of UDP), where every filtered-out socket would cost a syscall.
        bool resolveStrays = !q.ListeningOnly && (q.Kinds == SocketKinds.All || q.Pids is not null);
        var rows = new List<ProcessSocket>();
        var held = new HashSet<ulong>();
        var perProcess = new Dictionary<ulong, List<int>>();
        foreach (var job in fdJobs)
        {
            unreadable += job.Unreadable;
            int at = 0;
            var found = job.Found;
            while (at < found.Count)
            {
                int pid = found[at].Pid;
                ulong ns = found[at].Ns;
                perProcess.Clear();
                for (; at < found.Count && found[at].Pid == pid; at++)
                {
                    ulong inode = found[at].Inode;
                    if (!byInode.ContainsKey(inode) && !(resolveStrays && TryAddStray(pid, found[at].Fd, inode, q, byInode)))
                    {
                        continue;
                    }
                    if (!perProcess.TryGetValue(inode, out var fds))
                    {
                        perProcess[inode] = fds = new List<int>(1);
                    }
                    fds.Add(found[at].Fd);
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
        if ((q.Kinds & SocketKinds.Tcp) != 0)
        {
            ListenBacklogs.Fill(rows, NetNamespaces.Current);
        }

        return new SocketSnapshot { Rows = rows, UnreadableProcesses = unreadable, MalformedLines = malformed, NamespacesRead = nsDone.Count };
    }

    /// <summary>Whether the process passes the query's user and name filters.</summary>
    private static bool Wanted(int pid, SocketQuery q) =>
        (q.Uid is not uint wantUid || (ProcessInfo.TryReadUid(pid, out uint uid) && uid == wantUid))
        && (q.Comm is null || string.Equals(ProcessInfo.ReadComm(pid), q.Comm, StringComparison.Ordinal));

    /// <summary>Adds a socket a process holds that no table listed: a family without a /proc/net table (AF_ALG, vsock,
    /// ping, ...), one of another namespace (received over SCM_RIGHTS, or opened before setns), or one opened during the walk.</summary>
    private static bool TryAddStray(int pid, int fd, ulong inode, SocketQuery q, Dictionary<ulong, NetSocket> byInode)
    {
        string? protocol = FdTable.SocketProtocol(pid, fd);
        if (protocol is null)
        {
            return false;
        }
        var kind = KindOf(protocol);
        if (kind == SocketKinds.None ? q.Kinds != SocketKinds.All : (q.Kinds & kind) == 0)
        {
            return false;
        }
        byInode[inode] = new NetSocket
        {
            Inode = inode,
            Protocol = protocol,
            State = "UNKNOWN",
            Detail = kind == SocketKinds.None
                ? "no /proc/net table for this family"
                : "not in the holder's namespace tables (another namespace, or opened during the walk)",
        };
        return true;
    }

    /// <summary>Reads one family group of one namespace's tables, through the first of its processes that is still there.</summary>
    private sealed class TableJob(ulong ns, List<int> readers, SocketKinds kinds, bool listeningOnly)
    {
        [ThreadStatic]
        private static byte[]? t_buffer;

        public ulong Ns => ns;

        public List<NetSocket> Sockets { get; } = [];

        public int Malformed { get; private set; }

        public bool Succeeded { get; private set; }

        public void Run()
        {
            byte[] buffer = t_buffer ??= new byte[InitialTableBuffer];
            foreach (int reader in readers)
            {
                Sockets.Clear();
                Malformed = 0;
                if (TryRead(reader, ref buffer))
                {
                    Succeeded = true;
                    break;
                }
            }
            t_buffer = buffer;
        }

        private bool TryRead(int pid, ref byte[] buffer)
        {
            bool any = false;
            Span<byte> path = stackalloc byte[64];
            for (var table = ProcNetTable.Tcp; table <= ProcNetTable.Netlink; table++)
            {
                if ((kinds & KindOf(table)) == 0)
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
                // The process may have exited (and its pid been reused elsewhere) around the read: then try another reader.
                bool stillThere = NetNamespaces.TryGetOf(pid, out ulong now) == 0 && now == ns;
                if (!stillThere)
                {
                    return false;
                }
                if (n < 0)
                {
                    // The process is alive but the table is missing (e.g. IPv6 disabled) or refused: nothing to list.
                    continue;
                }
                any = true;
                Malformed += ProcNetParser.ParseTable(table, buffer.AsSpan(0, n), s =>
                {
                    if (listeningOnly && !s.IsListening)
                    {
                        return;
                    }
                    s.NetNs = ns;
                    Sockets.Add(s);
                });
            }
            return any;
        }
    }

    /// <summary>Collects (pid, fd, socket inode) for a share of the candidate processes.</summary>
    private sealed class FdJob
    {
        public List<(int Pid, ulong Ns)> Processes { get; } = [];

        public List<(int Pid, ulong Ns, int Fd, ulong Inode)> Found { get; } = [];

        public int Unreadable { get; private set; }

        /// <summary>Namespaces of the processes whose fd tables were read.</summary>
        public HashSet<ulong> NamespacesSeen { get; } = [];

        public void Run()
        {
            var scratch = new List<(int Fd, ulong Inode)>(64);
            foreach (var (pid, ns) in Processes)
            {
                scratch.Clear();
                int rc = FdTable.ReadSockets(pid, scratch);
                if (rc != 0)
                {
                    if (rc is -Errno.EACCES or -Errno.EPERM)
                    {
                        Unreadable++;
                    }
                    continue;
                }
                NamespacesSeen.Add(ns);
                foreach (var (fd, inode) in scratch)
                {
                    Found.Add((pid, ns, fd, inode));
                }
            }
        }
    }

    /// <summary>
    /// Reads the TCP sockets the fd jobs found through their fds (<see cref="TcpFdProbe"/>) into
    /// <paramref name="byInode"/>; returns the families whose tables still have to be read.
    /// </summary>
    private static SocketKinds ProbeHeld(FdJob[] jobs, SocketQuery q, Dictionary<ulong, NetSocket> byInode)
    {
        if (jobs.Sum(j => j.Found.Count) > MaxProbedSockets)
        {
            return q.Kinds; // a process with thousands of sockets: one table read is cheaper than thousands of probes
        }
        var needed = SocketKinds.None;
        foreach (var job in jobs)
        {
            int pidfd = -1, pidfdOf = 0;
            foreach (var (pid, ns, fd, inode) in job.Found)
            {
                if (pid != pidfdOf)
                {
                    if (pidfd >= 0)
                    {
                        TcpFdProbe.Close(pidfd);
                    }
                    pidfd = TcpFdProbe.OpenProcess(pid);
                    pidfdOf = pid;
                }
                if (byInode.ContainsKey(inode))
                {
                    continue;
                }
                var kind = KindOf(FdTable.SocketProtocol(pid, fd));
                if (kind == SocketKinds.Tcp && (q.Kinds & SocketKinds.Tcp) != 0 && pidfd >= 0
                    && TcpFdProbe.TryRead(pidfd, fd, inode, ns) is { } socket)
                {
                    if (!q.ListeningOnly || socket.IsListening)
                    {
                        byInode[inode] = socket;
                    }
                    continue;
                }
                needed |= kind;
            }
            if (pidfd >= 0)
            {
                TcpFdProbe.Close(pidfd);
            }
        }
        return needed & q.Kinds;
    }

    private static SocketKinds KindOf(string? protocol) => protocol switch
    {
        "tcp" or "tcp6" => SocketKinds.Tcp,
        "udp" or "udp6" => SocketKinds.Udp,
        "unix" or "unix-stream" or "unix-dgram" => SocketKinds.Unix, // sockfs names unix sockets by type since Linux 5.x
        "raw" or "raw6" => SocketKinds.Raw,
        "packet" => SocketKinds.Packet,
        "netlink" => SocketKinds.Netlink,
        _ => SocketKinds.None,
    };

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
