using System.Diagnostics;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>The README's first command, as a new user types it: ./tattle builds the native tool and traces curl.</summary>
[Collection("published")]
public class QuickStartTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task ReadmeRunCommand_BuildsAndTracesCurl_ThenSocketsStartsFast()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var web = ServerProcess.HttpServer();
        var run = await Script(TimeSpan.FromMinutes(10), "run", "--", "curl", "-s", $"http://127.0.0.1:{web.Port}/index.html");
        output.WriteLine(run.Stderr);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("hello from tattle's test server", run.Stdout); // curl's own output, untouched
        Assert.Contains($"http GET 127.0.0.1:{web.Port}/index.html -> 200", run.Stderr);
        Assert.Contains("0 lost", run.Stderr);
        // ./tattle publishes native code: no .NET runtime start-up on every command.
        Assert.True(File.Exists(Path.Combine(Repo.Root, "out", "tattle", "tattle")));

        var sw = Stopwatch.StartNew();
        var sockets = await Script(TimeSpan.FromMinutes(1), "sockets", "-p", $"{web.Pid}", "-t", "-l");
        sw.Stop();
        output.WriteLine($"./tattle sockets -p: {sw.Elapsed.TotalMilliseconds:F0} ms (bench/sockets measures it properly)");
        Assert.Equal(0, sockets.ExitCode);
        Assert.Contains($"127.0.0.1:{web.Port}", sockets.Stdout);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> Script(TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(Repo.Root, "tattle"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["TATTLE_NAME_CACHE"] = TattleCli.NameCachePath;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
    }
}
