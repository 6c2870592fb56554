using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Tattle.Capture.Proc;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Proc;

/// <summary>Creates real sockets in known states and checks every field SocketTable reports for them.</summary>
public sealed class SocketTableLiveTests : IDisposable
{
    private readonly List<IDisposable> _cleanup = [];

    public void Dispose()
    {
        for (int i = _cleanup.Count - 1; i >= 0; i--)
        {
            _cleanup[i].Dispose();
        }
    }

    private T Keep<T>(T d) where T : IDisposable
    {
        _cleanup.Add(d);
        return d;
    }

    private static int FdOf(Socket s) => (int)s.SafeHandle.DangerousGetHandle();

    private static ProcessSocket RowOf(IReadOnlyList<ProcessSocket> rows, Socket s)
    {
        int fd = FdOf(s);
        return Assert.Single(rows, r => r.Fds.Contains(fd));
    }

    private static void AssertOwnedByMe(ProcessSocket row, Socket s)
    {
        int me = Environment.ProcessId;
        Assert.Equal(me, row.Pid);
        Assert.Equal(FdOf(s), row.Fd);
        Assert.Equal(TestEnv.InodeOfFd(me, FdOf(s)), row.Inode);
        Assert.Equal(File.ReadAllText("/proc/self/comm").TrimEnd('\n'), row.Comm);
        Assert.Equal(Environment.UserName, row.User);
        Assert.Equal(TestEnv.NetNsOf(me), row.NetNs);
        Assert.Equal(ProcessInfo.ContainerIdFromCgroup(File.ReadAllBytes("/proc/self/cgroup")), row.ContainerId);
    }

    [Fact]
    public void TcpListenersEstablishedPairUdpAndUnixPairAreDescribedExactly()
    {
        var l4 = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        l4.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        l4.Listen(7);
        var client = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        client.Connect(l4.LocalEndPoint!);
        var server = Keep(l4.Accept());
        client.Send("hello"u8);
        var udp = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Socket? l6 = null;
        if (Socket.OSSupportsIPv6)
        {
            l6 = Keep(new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp));
            l6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            l6.Listen(3);
        }
        string path = Path.Combine(Path.GetTempPath(), $"tattle-test-{Guid.NewGuid():N}.sock");
        Keep(new TempFile(path));
        var ul = Keep(new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified));
        ul.Bind(new UnixDomainSocketEndPoint(path));
        ul.Listen(2);
        var uc = Keep(new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified));
        uc.Connect(new UnixDomainSocketEndPoint(path));
        var us = Keep(ul.Accept());

        // Loopback delivery is synchronous, but give the receive queue a moment on a loaded machine.
        Thread.Sleep(50);
        var rows = SocketTable.ForProcess(Environment.ProcessId);

        var rl4 = RowOf(rows, l4);
        AssertOwnedByMe(rl4, l4);
        Assert.Equal("tcp", rl4.Protocol);
        Assert.Equal("LISTEN", rl4.State);
        Assert.Equal(l4.LocalEndPoint, rl4.Local);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 0), rl4.Remote);
        Assert.Null(rl4.UnixPath);

        var rc = RowOf(rows, client);
        AssertOwnedByMe(rc, client);
        Assert.Equal("ESTABLISHED", rc.State);
        Assert.Equal(client.LocalEndPoint, rc.Local);
        Assert.Equal(l4.LocalEndPoint, rc.Remote);

        var rs = RowOf(rows, server);
        AssertOwnedByMe(rs, server);
        Assert.Equal("ESTABLISHED", rs.State);
        Assert.Equal(server.LocalEndPoint, rs.Local);
        Assert.Equal(client.LocalEndPoint, rs.Remote);
        Assert.Equal(5, rs.RxQueue);

        var ru = RowOf(rows, udp);
        AssertOwnedByMe(ru, udp);
        Assert.Equal("udp", ru.Protocol);
        Assert.Equal("UNCONN", ru.State);
        Assert.Equal(udp.LocalEndPoint, ru.Local);

        if (l6 is not null)
        {
            var r6 = RowOf(rows, l6);
            AssertOwnedByMe(r6, l6);
            Assert.Equal("tcp6", r6.Protocol);
            Assert.Equal("LISTEN", r6.State);
            Assert.Equal(l6.LocalEndPoint, r6.Local);
        }

        var rul = RowOf(rows, ul);
        AssertOwnedByMe(rul, ul);
        Assert.Equal("unix", rul.Protocol);
        Assert.Equal("LISTEN", rul.State);
        Assert.Equal(path, rul.UnixPath);
        Assert.Null(rul.Local);

        var ruc = RowOf(rows, uc);
        var rus = RowOf(rows, us);
        AssertOwnedByMe(ruc, uc);
        AssertOwnedByMe(rus, us);
        Assert.Equal("ESTABLISHED", ruc.State);
        Assert.Equal("ESTABLISHED", rus.State);
        Assert.Null(ruc.UnixPath);
        // The kernel gives an accepted unix socket its listener's address.
        Assert.Equal(path, rus.UnixPath);
        Assert.Equal(path, ruc.UnixPeerPath);
        Assert.Null(rus.UnixPeerPath);
        Assert.Equal(rus.Inode, ruc.UnixPeerInode);
        Assert.Equal(ruc.Inode, rus.UnixPeerInode);
    }

    [Fact]
    public void SocketHeldByForkedChildAndDupListsEveryHolderAndFd()
    {
        const string Script = """
            import os, socket, sys, time
            s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
            d = os.dup(s.fileno())
            child = os.fork()
            if child == 0:
                time.sleep(120); os._exit(0)
            print(s.getsockname()[1], child, s.fileno(), d, flush=True)
            time.sleep(120)
            """;
        var (parent, line) = TestEnv.StartWithReadyLine("python3", "-c", Script);
        var parts = line.Split(' ');
        int port = int.Parse(parts[0], CultureInfo.InvariantCulture);
        int child = int.Parse(parts[1], CultureInfo.InvariantCulture);
        int fd = int.Parse(parts[2], CultureInfo.InvariantCulture);
        int dup = int.Parse(parts[3], CultureInfo.InvariantCulture);
        try
        {
            var snap = SocketTable.Snapshot(new SocketQuery { Pids = [parent.Id, child], Kinds = SocketKinds.Tcp });
            var rows = snap.Rows.Where(r => r.Local?.Port == port).OrderBy(r => r.Pid).ToList();
            Assert.Equal(2, rows.Count);
            Assert.Equal(new[] { parent.Id, child }.Order(), rows.Select(r => r.Pid));
            Assert.Equal(rows[0].Inode, rows[1].Inode);
            foreach (var r in rows)
            {
                Assert.Equal(new[] { fd, dup }.Order(), r.Fds);
                Assert.Equal("python3", r.Comm);
                Assert.Equal("LISTEN", r.State);
            }

            // The whole-namespace walk sees both holders as well. It is matched by inode: a test running beside this
            // one may hold a socket with the same local port on another address.
            var all = SocketTable.Snapshot(new SocketQuery { Kinds = SocketKinds.Tcp }).Rows.Where(r => r.Inode == rows[0].Inode);
            Assert.Equal(new[] { parent.Id, child }.Order(), all.Select(r => r.Pid).Order());
        }
        finally
        {
            try
            {
                System.Diagnostics.Process.GetProcessById(child).Kill();
            }
            catch (ArgumentException)
            {
            }
            parent.Kill(entireProcessTree: true);
            parent.Dispose();
        }
    }

    [Fact]
    public void FdTableListsSocketsAndOtherKinds()
    {
        var s = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var file = File.OpenRead("/etc/hostname");
        var fds = FdTable.Read(Environment.ProcessId, out int errno);
        Assert.NotNull(fds);
        Assert.Equal(0, errno);
        Assert.Equal(fds!.OrderBy(f => f.Fd).Select(f => f.Fd), fds.Select(f => f.Fd));
        var mine = Assert.Single(fds, f => f.Fd == FdOf(s));
        Assert.Equal(TestEnv.InodeOfFd(Environment.ProcessId, FdOf(s)), mine.SocketInode);
        Assert.Equal($"socket:[{mine.SocketInode}]", mine.Target);
        Assert.Contains(fds, f => f.Target == "/etc/hostname");
        Assert.Contains(fds, f => f.Target.StartsWith("anon_inode:", StringComparison.Ordinal) || f.Target.StartsWith("pipe:[", StringComparison.Ordinal));
    }

    [Fact]
    public void VanishedProcessGivesNoRowsAndNoError()
    {
        var (p, _) = TestEnv.StartWithReadyLine("python3", "-c", "import time; print('ready', flush=True); time.sleep(60)");
        int pid = p.Id;
        p.Kill();
        p.WaitForExit();
        p.Dispose();
        Assert.Empty(SocketTable.ForProcess(pid));
        Assert.Null(FdTable.Read(pid, out int errno));
        Assert.NotEqual(0, errno);
    }

    [Fact]
    public void ListeningOnlyAndKindFiltersApply()
    {
        var l = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        l.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        l.Listen(1);
        var c = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        c.Connect(l.LocalEndPoint!);
        var rows = SocketTable.Snapshot(new SocketQuery { Pids = [Environment.ProcessId], Kinds = SocketKinds.Tcp, ListeningOnly = true }).Rows;
        Assert.All(rows, r => Assert.Equal("LISTEN", r.State));
        Assert.Contains(rows, r => r.Fds.Contains(FdOf(l)));
        Assert.DoesNotContain(rows, r => r.Fds.Contains(FdOf(c)));
        var udpOnly = SocketTable.Snapshot(new SocketQuery { Pids = [Environment.ProcessId], Kinds = SocketKinds.Udp }).Rows;
        Assert.All(udpOnly, r => Assert.StartsWith("udp", r.Protocol));
    }

    [SkippableFact]
    public void SocketFromAnotherNamespaceIsListedByItsSockfsName()
    {
        // A socket created in another namespace and kept after returning: none of our namespace's tables list it.
        Requires.Root(null, "a socket from another network namespace");
        const string Script = """
            import ctypes, os, socket, time
            libc = ctypes.CDLL(None, use_errno=True)
            home = os.open('/proc/self/ns/net', os.O_RDONLY)
            assert libc.unshare(0x40000000) == 0  # CLONE_NEWNET
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            assert libc.setns(home, 0x40000000) == 0
            print(s.fileno(), flush=True)
            time.sleep(120)
            """;
        var (p, line) = TestEnv.StartWithReadyLine("python3", "-c", Script);
        try
        {
            int fd = int.Parse(line, System.Globalization.CultureInfo.InvariantCulture);
            var row = Assert.Single(SocketTable.ForProcess(p.Id), r => r.Fd == fd);
            Assert.Equal("udp", row.Protocol);
            Assert.Equal("UNKNOWN", row.State);
            Assert.Equal(0UL, row.NetNs);
            Assert.Null(row.Local);
            Assert.Equal(TestEnv.InodeOfFd(p.Id, fd), row.Inode);
            // Filtered out when only TCP is asked for.
            Assert.DoesNotContain(SocketTable.Snapshot(new SocketQuery { Pids = [p.Id], Kinds = SocketKinds.Tcp }).Rows, r => r.Fd == fd);
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            p.Dispose();
        }
    }

    private sealed class TempFile(string path) : IDisposable
    {
        public void Dispose() => File.Delete(path);
    }
    [Fact]
    public void PidQueryReadsTcpThroughFds_ExactlyAsTheNamespaceTablesDescribeThem()
    {
        // -p reads TCP sockets through pidfd_getfd; a whole-namespace walk reads /proc/net/tcp{,6}. Same sockets, same rows.
        var l4 = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        l4.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        l4.Listen(5);
        var client = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        client.Connect(l4.LocalEndPoint!);
        var pending = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        pending.Connect(l4.LocalEndPoint!); // waits in the accept backlog (the listener's rx queue)
        var server = Keep(l4.Accept());
        client.Send(new byte[3000]); // unread by server: its rx queue
        var dual = Keep(new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true });
        dual.Connect(l4.LocalEndPoint!); // a tcp6 socket with v4-mapped addresses
        var unconnected = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        unconnected.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Thread.Sleep(50); // let loopback settle the queues

        int me = Environment.ProcessId;
        var viaFds = SocketTable.Snapshot(new SocketQuery { Pids = [me], Kinds = SocketKinds.Tcp }).Rows;
        var viaTables = SocketTable.Snapshot(new SocketQuery { Kinds = SocketKinds.Tcp }).Rows.Where(r => r.Pid == me).ToList();
        foreach (var s in new[] { l4, client, pending, server, dual })
        {
            var a = RowOf(viaFds, s);
            var b = RowOf(viaTables, s);
            Assert.Equal(b.Socket.Protocol, a.Socket.Protocol);
            Assert.Equal(b.Socket.State, a.Socket.State);
            Assert.Equal(b.Socket.Local, a.Socket.Local);
            Assert.Equal(b.Socket.Remote, a.Socket.Remote);
            Assert.Equal(b.Socket.RxQueue, a.Socket.RxQueue);
            Assert.Equal(b.Socket.TxQueue, a.Socket.TxQueue);
            Assert.Equal(b.Socket.Uid, a.Socket.Uid);
            Assert.Equal(b.Inode, a.Inode);
            Assert.Equal(b.NetNs, a.NetNs);
            Assert.Equal(b.Fds, a.Fds);
        }
        Assert.Equal(2, RowOf(viaFds, l4).Socket.RxQueue); // pending and dual wait in the accept backlog
        Assert.Equal(3000, RowOf(viaFds, server).Socket.RxQueue);
        Assert.Equal("tcp6", RowOf(viaFds, dual).Socket.Protocol);
        // A bound, unconnected TCP socket is in no /proc/net table (they list the listening and established hashes
        // only), so the table walk cannot describe it; through its fd it has its state and address.
        var bound = RowOf(viaFds, unconnected);
        Assert.Equal("CLOSE", bound.Socket.State);
        Assert.Equal(unconnected.LocalEndPoint, bound.Socket.Local);
    }
}
