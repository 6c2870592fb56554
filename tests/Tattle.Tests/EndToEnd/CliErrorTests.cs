using System.Diagnostics;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>Bad input gets one clear line and a non-zero exit code, never a stack trace; signals flush everything.</summary>
[Collection("bpf")]
public sealed class CliErrorTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task UnknownFlag_ExitCode2AndAMessage()
    {
        var r = await TattleCli.RunAsync(["run", "--frobnicate", "--", "true"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--frobnicate", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [SkippableFact]
    public async Task MissingDoubleDash_ExplainsTheForm()
    {
        var r = await TattleCli.RunAsync(["run", "curl", "http://127.0.0.1:1/"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("put the command after --", r.Stderr);
    }

    [SkippableFact]
    public async Task PacketsOnlyWithoutW_OneLineAndExit2()
    {
        var r = await TattleCli.RunAsync(["run", "--packets-only", "--", "true"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--packets-only is a way of capturing packets: it needs -w FILE", r.Stderr.Split('\n')[0]);
    }

    [SkippableFact]
    public async Task BadSnaplen_IsRejected()
    {
        var r = await TattleCli.RunAsync(["run", "--snaplen", "-5", "--", "true"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--snaplen", r.Stderr);
    }

    [SkippableTheory]
    [InlineData("--proto", "80=gopher", "unknown protocol 'gopher' (known: tls, http, dns, redis, postgresql, mysql, zmtp, memcached, websocket, http2)")]
    [InlineData("--proto", "http", "--proto expects PORT=NAME")]
    [InlineData("--body-limit", "-1", "--body-limit must be an integer from 0 to 16777216 (bytes), not '-1'")]
    [InlineData("--stream-buffer", "10", "--stream-buffer must be an integer from 4096 to 268435456 (bytes), not '10'")]
    public async Task BadParsingOptions_AreOneLineAndExit2(string option, string value, string message)
    {
        var r = await TattleCli.RunAsync(["run", option, value, "--", "true"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr.Split('\n')[0]);
    }

    [SkippableTheory]
    [InlineData("-p", "999999999", "tattle libs: no process with pid 999999999")]
    [InlineData("-p", "abc", "tattle libs: 'abc' is not a process id")]
    [InlineData("/etc/hostname", null, "tattle libs: /etc/hostname: not an ELF file")]
    [InlineData("/no/such/file", null, "tattle libs: /no/such/file: no such file")]
    public async Task Libs_BadPidOrFile_OneLineAndExit2(string first, string? second, string message)
    {
        var r = await TattleCli.RunAsync(second is null ? ["libs", first] : ["libs", first, second], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(message, r.Stderr.TrimEnd('\n'));
        Assert.Empty(r.Stdout);
    }

    [SkippableFact]
    public async Task Libs_TruncatedElf_SaysSo()
    {
        Requires.FileFrom(output, "/usr/bin/true", "coreutils");
        string cut = Path.Combine(Path.GetTempPath(), $"tattle-cut-{Guid.NewGuid():N}");
        File.WriteAllBytes(cut, File.ReadAllBytes("/usr/bin/true")[..4096]);
        try
        {
            var r = await TattleCli.RunAsync(["libs", cut, "--symbols", "*"], json: false);
            Assert.Equal(2, r.ExitCode);
            Assert.Equal($"tattle libs: {cut}: a truncated ELF file (its headers point past its end)", r.Stderr.TrimEnd('\n'));
        }
        finally
        {
            File.Delete(cut);
        }
    }

    [SkippableFact]
    public async Task Libs_NeitherOrBothPidAndFile_ExplainsTheForm()
    {
        var neither = await TattleCli.RunAsync(["libs"], json: false);
        var both = await TattleCli.RunAsync(["libs", "-p", "1", "/usr/bin/true"], json: false);
        foreach (var r in new[] { neither, both })
        {
            Assert.Equal(2, r.ExitCode);
            Assert.StartsWith("tattle libs: give either -p PID or a FILE", r.Stderr);
        }
    }

    [SkippableFact]
    public async Task CommandNotFound_Exits127LikeAShell()
    {
        Requires.RootAndBpf(output);
        var r = await TattleCli.RunAsync(["run", "--", "no-such-command-tattle"], json: false);
        Assert.Equal(127, r.ExitCode);
        Assert.Contains("no-such-command-tattle: command not found", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [SkippableFact]
    public async Task Sigterm_ForwardsToTheCommand_FlushesJsonAndDetaches()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "bpftool");
        var json = Path.Combine(Path.GetTempPath(), $"tattle-sigterm-{Guid.NewGuid():N}.jsonl");
        // Another tracer on the machine (an agent, a developer's trace) may hold programs of the same name.
        var others = BpfPrograms.Ids(IsTattleFork);
        using var tattle = Process.Start(TattleCli.StartInfo(["run", "--json", json, "--", "sleep", "30"]))!;
        var stderr = tattle.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!File.Exists(json) || !File.ReadAllText(json).Contains("\"sleep\""))
        {
            Assert.True(DateTime.UtcNow < deadline, "sleep never started under tattle");
            await Task.Delay(100);
        }
        var ours = BpfPrograms.Ids(IsTattleFork);
        ours.ExceptWith(others);
        Assert.NotEmpty(ours);
        Tattle.Interop.Libc.Kill(tattle.Id, 15);
        await tattle.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        output.WriteLine(await stderr);
        Assert.Equal(128 + 15, tattle.ExitCode); // sleep was killed by the forwarded SIGTERM
        var records = TattleCli.ReadJsonLines(json); // every line parses: the file is complete
        File.Delete(json);
        Assert.Equal("summary", records[^1].GetProperty("type").GetString());
        Assert.Contains(records, r => r.GetProperty("type").GetString() == "process.exit" && r.GetProperty("signal").GetInt32() == 15);
        // Every program and link is released with the process: none of Tattle's programs remain loaded.
        // (The kernel frees them after an RCU grace period: allow a moment.)
        HashSet<int> left = [];
        for (int i = 0; i < 20; i++)
        {
            left = BpfPrograms.Ids(IsTattleFork);
            left.ExceptWith(others);
            if (left.Count == 0)
            {
                break;
            }
            await Task.Delay(100);
        }
        Assert.Empty(left);
    }

    private static bool IsTattleFork(string name) => name == "tattle_fork"; // loaded whichever way syscalls are traced

    [SkippableTheory]
    [InlineData("INT")]
    [InlineData("TERM")]
    [InlineData("HUP")]
    public async Task ABackgroundJobOfAScript_StopsOnTheSignal_AndCompletesItsJson(string signal)
    {
        Requires.RootAndBpf(output);
        // A non-interactive shell starts background jobs with SIGINT ignored; scripts still stop captures with it.
        using var sleeper = Process.Start("sleep", ["60"]);
        var json = Path.Combine(Path.GetTempPath(), $"tattle-signal-{Guid.NewGuid():N}.jsonl");
        const string script = """
            "$@" & pid=$!
            sleep 2
            kill -$SIG $pid
            for i in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
            if kill -0 $pid 2>/dev/null; then echo "still running"; kill -KILL $pid; fi
            wait $pid; echo "exit $?"
            """;
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-c", script, "bash", .. TattleCli.CommandLine(["attach", "-p", sleeper.Id.ToString(), "-q", "--json", json])])
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["SIG"] = signal;
        psi.Environment["TATTLE_NAME_CACHE"] = TattleCli.NameCachePath;
        using var bash = Process.Start(psi)!;
        var stderr = bash.StandardError.ReadToEndAsync();
        string stdout = await bash.StandardOutput.ReadToEndAsync();
        await bash.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        sleeper.Kill();
        output.WriteLine(stdout + await stderr);
        Assert.Equal("exit 0", stdout.Trim());
        var records = TattleCli.ReadJsonLines(json);
        File.Delete(json);
        Assert.Equal("summary", records[^1].GetProperty("type").GetString());
    }

    private static HashSet<string> GateDirectories() => [.. Directory.EnumerateFileSystemEntries(Path.GetTempPath(), "tattle-gate-*")];

    [SkippableFact]
    public async Task NoSuchUser_LeavesNoGateBehind()
    {
        Requires.RootAndBpf(output);
        var before = GateDirectories();
        var r = await TattleCli.RunAsync(["run", "-u", "nosuchuser-tattle", "--", "true"], json: false);
        output.WriteLine(r.ToString());
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("tattle: no such user: nosuchuser-tattle", r.Stderr.Trim());
        Assert.Empty(GateDirectories().Except(before));
    }

    [SkippableFact]
    public async Task Sigkill_LeavesNoGateBehind()
    {
        Requires.RootAndBpf(output);
        var before = GateDirectories();
        var json = Path.Combine(Path.GetTempPath(), $"tattle-sigkill-{Guid.NewGuid():N}.jsonl");
        using var tattle = Process.Start(TattleCli.StartInfo(["run", "-q", "--json", json, "--", "sleep", "30"]))!;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!File.Exists(json) || !File.ReadAllText(json).Contains("\"sleep\""))
        {
            Assert.True(DateTime.UtcNow < deadline, "sleep never started under tattle");
            await Task.Delay(100);
        }
        tattle.Kill();
        await tattle.WaitForExitAsync();
        // The last line may be cut by the kill: the command's pid comes from the first record about it.
        var start = System.Text.RegularExpressions.Regex.Match(File.ReadAllText(json), "\"type\":\"process.start\"[^\n]*?\"pid\":(\\d+)");
        Assert.True(start.Success);
        Tattle.Interop.Libc.Kill(int.Parse(start.Groups[1].Value), 9);
        File.Delete(json);
        Assert.Empty(GateDirectories().Except(before));
    }
}
