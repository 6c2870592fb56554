using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Tattle.Capture.Proc;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Proc;

public partial class FilterAndPermissionTests
{
    [GeneratedRegex(@"^tattle sockets: (1 process|[1-9][0-9]+ processes|[2-9] processes) not readable; run as root\n$")]
    private static partial Regex UnreadableLine();

    [Fact]
    public void CommAndUserFiltersSelectProcesses()
    {
        using var l = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        l.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        l.Listen(1);
        ulong inode = TestEnv.InodeOfFd(Environment.ProcessId, (int)l.SafeHandle.DangerousGetHandle());
        string comm = File.ReadAllText("/proc/self/comm").TrimEnd('\n');
        Assert.True(ProcessInfo.TryReadUid(Environment.ProcessId, out uint uid));

        var byComm = SocketTable.Snapshot(new SocketQuery { Comm = comm, Kinds = SocketKinds.Tcp }).Rows;
        Assert.Contains(byComm, r => r.Inode == inode && r.Pid == Environment.ProcessId);
        Assert.All(byComm, r => Assert.Equal(comm, r.Comm));

        var byUser = SocketTable.Snapshot(new SocketQuery { Uid = uid, Kinds = SocketKinds.Tcp }).Rows;
        Assert.Contains(byUser, r => r.Inode == inode);
        Assert.All(byUser, r => Assert.Equal(uid, r.Process!.Uid));

        var otherUser = SocketTable.Snapshot(new SocketQuery { Uid = uid + 12345, Kinds = SocketKinds.Tcp }).Rows;
        Assert.DoesNotContain(otherUser, r => r.Inode == inode);
        var otherComm = SocketTable.Snapshot(new SocketQuery { Comm = "no-such-comm", Kinds = SocketKinds.Tcp }).Rows;
        Assert.Empty(otherComm);
    }

    [Fact]
    public void RepeatedPidGivesEachRowOnce()
    {
        using var u = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        u.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int me = Environment.ProcessId;
        var rows = SocketTable.Snapshot(new SocketQuery { Pids = [me, me], Kinds = SocketKinds.Udp }).Rows;
        Assert.Single(rows, r => r.Fds.Contains((int)u.SafeHandle.DangerousGetHandle()));
    }

    [Fact]
    public void UnownedSocketsOnlyWithoutProcessFilter()
    {
        var all = SocketTable.Snapshot(new SocketQuery()).Rows;
        // A host always has some netlink socket the kernel itself holds.
        Assert.Contains(all, r => r.Process is null && r.Fd == -1 && r.Fds.Count == 0);
        Assert.DoesNotContain(SocketTable.ForProcess(Environment.ProcessId), r => r.Process is null);
    }

    [SkippableFact]
    public void NonRootReportsUnreadableProcessesOnceAndStillSucceeds()
    {
        Requires.Root(null, "switching to user nobody");
        if (TestEnv.Run("id", "nobody").Code != 0)
        {
            Assert.Fail("no user 'nobody' to run as");
        }
        string dll = Path.Combine(AppContext.BaseDirectory, "tattle.dll");
        var (code, stdout, stderr) = TestEnv.Run("runuser", "-u", "nobody", "--", "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp",
            "dotnet", dll, "sockets", "-t", "-n");
        Assert.True(code == 0, stderr);
        Assert.Matches(UnreadableLine(), stderr);
        Assert.DoesNotContain(" at ", stderr);
        Assert.NotEqual("", stdout);
    }
}
