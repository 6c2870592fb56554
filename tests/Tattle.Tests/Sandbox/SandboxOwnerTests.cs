using System.Diagnostics;
using Tattle.Capture.Proc;
using Tattle.Sandbox;

namespace Tattle.Tests.Sandbox;

/// <summary>Whether a sandbox's tattle still runs, as `sandbox --cleanup` decides it.</summary>
public sealed class SandboxOwnerTests
{
    private static SandboxState OwnedBy(int pid, ulong start) => new()
    {
        Id = "1-0",
        Netns = "tattle-1-0",
        HostVeth = "tsb1-0",
        NftTable = "tattle_1_0",
        EtcDir = "/etc/netns/tattle-1-0",
        Subnet = "10.200.0.0/30",
        Forwarding = false,
        OwnerPid = pid,
        OwnerStart = start,
    };

    [Fact]
    public void ARunningOwner_IsAlive_AReusedPidIsNot()
    {
        var me = ProcStat.Read(Environment.ProcessId)!.Value;
        Assert.True(OwnedBy(me.Pid, me.StartTicks).OwnerAlive);
        Assert.False(OwnedBy(me.Pid, me.StartTicks + 1).OwnerAlive);
    }

    [Fact]
    public void AZombieOwner_KilledButNotYetReaped_IsDead()
    {
        // sh forks `sleep 0` and execs into a sleep that never waits: the child stays a zombie until sleep ends.
        using var parent = Process.Start("sh", ["-c", "sleep 0 & exec sleep 30"]);
        try
        {
            ProcStat zombie = default;
            for (int i = 0; i < 200 && zombie.State != 'Z'; i++)
            {
                Thread.Sleep(10);
                zombie = ProcStat.All().FirstOrDefault(p => p.ParentPid == parent.Id);
            }
            Assert.Equal('Z', zombie.State);
            Assert.False(OwnedBy(zombie.Pid, zombie.StartTicks).OwnerAlive);
        }
        finally
        {
            parent.Kill();
            parent.WaitForExit();
        }
    }
}
