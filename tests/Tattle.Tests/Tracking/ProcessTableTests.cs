using Tattle.Tracking.Processes;

namespace Tattle.Tests.Tracking;

public sealed class ProcessTableTests
{
    [Fact]
    public void ExitedProcesses_AreKeptAWhile_ThenLetGo()
    {
        // An agent sees pids cycle through pid_max: the table holds the living and the last to exit, not every one.
        var table = new ProcessTable();
        var living = table.Add(1, 100);
        const int Exits = ProcessTable.ExitedKept * 3;
        for (int pid = 2; pid < 2 + Exits; pid++)
        {
            table.Add(pid, 100);
            Assert.NotNull(table.MarkExited(pid));
        }
        Assert.Same(living, table.Find(1));
        Assert.Null(table.Find(2)); // the oldest exits are gone
        Assert.Equal(2 + Exits - 1, table.Find(2 + Exits - 1)?.Pid); // the newest are there, exited
        Assert.Equal(ProcessTable.ExitedKept, Enumerable.Range(2, Exits).Count(pid => table.Find(pid) is not null));
        Assert.Equal((1, Exits + 1), (table.LiveCount, table.TotalSeen));
    }

    [Fact]
    public void AnEntryReplacedAtItsPid_IsNotDroppedForTheOldOnesExit()
    {
        var table = new ProcessTable();
        table.Add(7, 100);
        table.MarkExited(7);
        var reused = table.Add(7, 200); // a new process at the pid
        for (int pid = 10; pid < 10 + ProcessTable.ExitedKept + 1; pid++)
        {
            table.Add(pid, 100);
            table.MarkExited(pid);
        }
        Assert.Same(reused, table.Find(7));
    }
}
