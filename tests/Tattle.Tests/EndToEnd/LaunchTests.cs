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

    [SkippableFact]
    public async Task Run_TheCommandGetsSigpipeAtItsDefault_AsAShellWouldGiveIt()
    {
        Requires.RootAndBpf(output);
        // The runtime ignores SIGPIPE; a child would keep it ignored, and `yes | head -1` end with EPIPE, not 141.
        var r = await TattleCli.RunAsync(["run", "-q", "--", "bash", "-c",
            "set -o pipefail; yes | head -1 > /dev/null; echo pipe=$?; grep SigIgn /proc/self/status"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("pipe=141", r.Stdout);
        var ignored = System.Text.RegularExpressions.Regex.Match(r.Stdout, "SigIgn:\\s*([0-9a-f]+)").Groups[1].Value;
        Assert.Equal(0UL, ulong.Parse(ignored, System.Globalization.NumberStyles.HexNumber) & (1UL << (13 - 1)));
    }

    [SkippableFact]
    public async Task Run_AsAnotherUser_TheUserSwitchsOwnLookupsAreNotTheCommands()
    {
        Requires.RootAndBpf(output);
        // setpriv asks the name service for the user and its groups (nscd's socket first) after the gate opens:
        // none of that is the command's. grep makes no connection of its own.
        var r = await TattleCli.RunAsync(["run", "-q", "-u", "nobody", "--", "grep", "^Uid:", "/proc/self/status"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"^Uid:\s+65534\s", r.Stdout); // it did run as nobody
        var start = Assert.Single(r.OfType("process.start"));
        Assert.Equal("/usr/bin/grep", Str(start, "exe"));
        Assert.Equal(65534, start.GetProperty("uid").GetInt32()); // its own, though it may be gone before its record passes
        Assert.DoesNotContain(r.Records, x => Str(x, "type")!.StartsWith("conn.", StringComparison.Ordinal));
        Assert.Empty(r.Summary.GetProperty("rows").EnumerateArray());
    }

    [SkippableFact]
    public async Task Sigterm_StopsTheRunOnceTheCommandIsGone_ThoughItsChildRunsOn()
    {
        Requires.RootAndBpf(output);
        string json = Path.Combine(Path.GetTempPath(), $"tattle-sigterm-orphan-{Guid.NewGuid():N}.jsonl");
        string pidFile = Path.ChangeExtension(json, ".pid");
        using var tattle = System.Diagnostics.Process.Start(TattleCli.StartInfo(["run", "-q", "--json", json, "--", "sh", "-c", $"sleep 60 & echo $! > {pidFile}; wait"]))!;
        var stderr = tattle.StandardError.ReadToEndAsync();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!File.Exists(json) || !File.ReadAllText(json).Contains("\"sleep\"", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, "sleep never started under tattle");
                await Task.Delay(100);
            }
            var sent = DateTime.UtcNow;
            Tattle.Interop.Libc.Kill(tattle.Id, 15);
            // sh dies of the forwarded signal; sleep, its child, would run for a minute more.
            await tattle.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(DateTime.UtcNow - sent < TimeSpan.FromSeconds(15), "tattle waited for the command's child");
            // sleep holds tattle's standard error (the command's, inherited) open until it dies.
            KillOrphan(pidFile);
            output.WriteLine(await stderr);
            Assert.Equal(128 + 15, tattle.ExitCode);
            var records = TattleCli.ReadJsonLines(json);
            var summary = records[^1];
            Assert.Equal("summary", Str(summary, "type"));
            Assert.Equal(1, summary.GetProperty("still_running").GetInt32());
        }
        finally
        {
            if (!tattle.HasExited)
            {
                tattle.Kill();
            }
            KillOrphan(pidFile);
            File.Delete(pidFile);
            File.Delete(json);
        }
    }

    private static void KillOrphan(string pidFile)
    {
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int orphan))
        {
            Tattle.Interop.Libc.Kill(orphan, 9); // ESRCH if it is already gone
        }
    }
}
