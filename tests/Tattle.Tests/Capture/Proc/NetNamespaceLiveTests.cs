using System.Net;
using Tattle.Capture.Proc;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Proc;

/// <summary>A socket inside a network namespace the test creates with `ip netns add` and removes after.</summary>
public class NetNamespaceLiveTests
{
    [SkippableFact]
    public void SocketInCreatedNamespaceCarriesItsIdAndName()
    {
        Requires.Root(null, "creating a network namespace");
        string name = "tattle-test-" + Guid.NewGuid().ToString("N")[..8];
        var add = TestEnv.Run("ip", "netns", "add", name);
        Assert.True(add.Code == 0, "ip netns add: " + add.Stderr);
        System.Diagnostics.Process? helper = null;
        try
        {
            // lo must be up to bind 127.0.0.1 in a fresh namespace.
            Assert.Equal(0, TestEnv.Run("ip", "-n", name, "link", "set", "lo", "up").Code);
            (helper, _) = TestEnv.StartWithReadyLine("ip", "netns", "exec", name, "python3", "-c",
                "import socket, time\ns = socket.socket(); s.bind(('127.0.0.1', 4242)); s.listen()\nprint('ready', flush=True)\ntime.sleep(120)");
            int pid = helper.Id; // ip netns exec execs the command in place
            ulong expectedNs = TestEnv.NetNsOf(pid);
            Assert.NotEqual(TestEnv.NetNsOf(Environment.ProcessId), expectedNs);
            // Oracle for the name: iproute2's own mapping.
            Assert.Equal(name, TestEnv.Run("ip", "netns", "identify", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).Stdout.Trim());

            var all = SocketTable.Snapshot(new SocketQuery { AllNamespaces = true, Kinds = SocketKinds.Tcp });
            // Its own listener: the helper may also hold a socket inherited from this test process, whose other tests
            // open sockets while it forks (the table rightly shows that one too).
            var row = Assert.Single(all.Rows, r => r.Pid == pid && r.Local?.Port == 4242);
            Assert.Equal(expectedNs, row.NetNs);
            Assert.Equal(name, row.NetNsName);
            Assert.Equal(name, row.Process!.NetNsName);
            Assert.Equal("tcp", row.Protocol);
            Assert.Equal("LISTEN", row.State);
            Assert.Equal(new IPEndPoint(IPAddress.Loopback, 4242), row.Local);
            Assert.Equal("python3", row.Comm);
            Assert.Equal(TestEnv.InodeOfFd(pid, row.Fd), row.Inode);
            // sock_diag sees only tattle's own namespace: the backlog is unknown here, not 0.
            Assert.Null(row.Backlog);

            // Selected by name-resolved id; absent from the default (our namespace) walk.
            Assert.True(NetNamespaces.Load().TryResolve(name, out ulong resolved));
            Assert.Equal(expectedNs, resolved);
            Assert.Contains(SocketTable.Snapshot(new SocketQuery { NetNs = resolved, Kinds = SocketKinds.Tcp }).Rows, r => r.Pid == pid);
            Assert.DoesNotContain(SocketTable.Snapshot(new SocketQuery { Kinds = SocketKinds.Tcp }).Rows, r => r.Pid == pid);
            // ForProcess follows the process into its namespace.
            Assert.Contains(SocketTable.ForProcess(pid), s => s.Inode == row.Inode);
        }
        finally
        {
            if (helper is not null)
            {
                helper.Kill(entireProcessTree: true);
                helper.WaitForExit();
                helper.Dispose();
            }
            TestEnv.Run("ip", "netns", "del", name);
        }
        Assert.False(File.Exists("/run/netns/" + name));
    }
}
