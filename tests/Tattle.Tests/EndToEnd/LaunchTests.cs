using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>`tattle run`'s launch: the command is the first process shown, and its descendants are followed to the end.</summary>
[Collection("bpf")]
public sealed class LaunchTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Run_FollowsADescendantThatOutlivesTheCommand()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var server = ServerProcess.HttpServer();
        var r = await TattleCli.RunAsync(["run", "-q", "--", "sh", "-c",
            $"(sleep 1.5; curl -s -o /dev/null http://127.0.0.1:{server.Port}/index.html?late) & echo started"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var late = Assert.Single(r.OfType("http"), h => Str(h, "path") == "/index.html?late");
        Assert.Equal(200, late.GetProperty("status").GetInt32());
        Assert.Contains(r.OfType("process.exit"), e => Str(e, "comm") == "curl");
        Assert.Equal(0, r.Summary.GetProperty("still_running").GetInt32());
        Assert.True(r.Summary.GetProperty("duration_ms").GetDouble() >= 1500);
    }

    [SkippableFact]
    public async Task Run_NoFollowOrphans_StopsAtTheCommandsExitAndCountsWhatStillRuns()
    {
        Requires.RootAndBpf(output);
        // The orphan sleeps far longer than any loaded machine takes to start and stop tattle: a run that waited
        // for it would last 30 s and count nothing still running, so the bound below has room to spare.
        string pidFile = Path.Combine(Path.GetTempPath(), $"tattle-orphan-{Guid.NewGuid():N}.pid");
        try
        {
            var r = await TattleCli.RunAsync(["run", "-q", "--no-follow-orphans", "--", "sh", "-c", $"sleep 30 & echo $! > {pidFile}"]);
            output.WriteLine(r.ToString());
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(1, r.Summary.GetProperty("still_running").GetInt32());
            Assert.Contains("1 still running", r.Stderr);
            double ms = r.Summary.GetProperty("duration_ms").GetDouble();
            Assert.True(ms < 20_000, $"the run lasted {ms:F0} ms: it waited for the orphan");
        }
        finally
        {
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int orphan))
            {
                Tattle.Interop.Libc.Kill(orphan, 9); // ESRCH if it is already gone
            }
            File.Delete(pidFile);
        }
    }

    [SkippableFact]
    public async Task Run_TheCommandIsTheFirstProcess_NeverTheLaunchGate()
    {
        Requires.RootAndBpf(output);
        // The gate's shell execs the command (through `ip netns exec` in the sandbox): neither is ever shown.
        for (int i = 0; i < 8; i++)
        {
            string[] verb = i % 2 == 0 ? ["run", "-q"] : ["sandbox", "-q", "--as-root"];
            var r = await TattleCli.RunAsync([.. verb, "--", "true"]);
            Assert.Equal(0, r.ExitCode);
            var start = Assert.Single(r.OfType("process.start"));
            Assert.Equal("true", Str(start, "comm"));
            Assert.Equal("/usr/bin/true", Str(start, "exe"));
            Assert.DoesNotContain(r.Records, x => x.GetRawText().Contains("tattle-gate", StringComparison.Ordinal));
            Assert.DoesNotContain(r.Records, x => x.GetRawText().Contains("\"netns\",\"exec\"", StringComparison.Ordinal));
        }
    }
}
