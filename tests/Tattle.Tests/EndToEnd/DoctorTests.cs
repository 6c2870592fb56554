using Tattle.Capture.Bpf;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>`tattle doctor` on this kernel, and choosing the build of the kernel programs from the command line.</summary>
[Collection("bpf")]
public sealed class DoctorTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Doctor_ListsEveryCapability_LoadsBothBuilds_AndNamesTheOneUsed()
    {
        Requires.RootAndBpf(output);
        var r = await TattleCli.RunAsync(["doctor", "--fresh"], json: false);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"kernel      {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}", r.Stdout);
        Assert.Contains("capabilities (probed now)", r.Stdout);
        foreach (var info in KernelCapabilities.All)
        {
            Assert.Contains(info.Name, r.Stdout);
        }
        Assert.Matches(@"fast\s+loads: \d+ programs", r.Stdout);
        Assert.Matches(@"fallback\s+loads: \d+ programs", r.Stdout);
        // On the kernels CI runs (6.2+) the probes find the fast path's capabilities.
        Assert.Contains("variant: fast", r.Stdout);
        Assert.Contains("privileges  root", r.Stdout);

        var again = await TattleCli.RunAsync(["doctor"], json: false);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("probed earlier this boot", again.Stdout);
    }

    [SkippableFact]
    public async Task RunOnTheFallbackBuild_TheSameRecords()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var server = ServerProcess.HttpServer();
        string[] curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{size_request} %{size_header} %{size_download}", $"http://127.0.0.1:{server.Port}/missing"];
        var fast = await TattleCli.RunAsync(["run", "--bpf-variant", "fast", "--verbose", "--", .. curl]);
        var fallback = await TattleCli.RunAsync(["run", "--bpf-variant", "fallback", "--verbose", "--", .. curl]);
        output.WriteLine(fast.ToString());
        output.WriteLine(fallback.ToString());
        Assert.Contains("kernel programs: the fast build", fast.Stderr);
        Assert.Contains("kernel programs: the fallback build", fallback.Stderr);
        foreach (var r in (TattleResult[])[fast, fallback])
        {
            Assert.Equal(0, r.ExitCode);
            var sizes = r.Stdout.Split(' ').Select(long.Parse).ToArray();
            var http = Assert.Single(r.OfType("http"));
            Assert.Equal("GET", http.GetProperty("method").GetString());
            Assert.Equal(404, http.GetProperty("status").GetInt32());
            var close = r.OfType("conn.close").Single(c => c.GetProperty("proto").GetString() == "tcp");
            Assert.Equal(sizes[0], close.GetProperty("bytes_sent").GetInt64());
            Assert.Equal(sizes[1] + sizes[2], close.GetProperty("bytes_recv").GetInt64());
            Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
        }
    }

    [SkippableFact]
    public async Task OnAKernelShapedLikeDebian11_TheFallbackTracesWithoutTlsAndSaysSo()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        // 5.10 has no bpf_loop, no task storage in tracing programs and no attach cookies: hidden here, the tracer
        // must choose the fallback on its own, leave the uprobe programs out, and say what is lost.
        var debian11 = new Dictionary<string, string>
        {
            [KernelFeatures.HideVariable] = "BpfLoop,TaskStorage,AttachCookie,RdonlyCast",
            [VariantChoice.EnvironmentVariable] = "auto", // the choice is what is tested, whatever the run around it forces
        };
        using var server = ServerProcess.HttpServer();
        var r = await TattleCli.RunAsync(["run", "--", "curl", "-s", "-o", "/dev/null", $"http://127.0.0.1:{server.Port}/old"], env: debian11);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var notices = r.OfType("notice").Select(n => n.GetProperty("message").GetString()!).ToList();
        Assert.Contains(notices, n => n.StartsWith("no TLS plaintext on this kernel: the probes need attach cookies (Linux 5.15)", StringComparison.Ordinal));
        Assert.Contains(notices, n => n.StartsWith("kernel programs: the fallback build (no ", StringComparison.Ordinal) && n.Contains("bpf_loop"));
        var http = Assert.Single(r.OfType("http"));
        Assert.Equal("/old", http.GetProperty("path").GetString());
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());

        var doctor = await TattleCli.RunAsync(["doctor"], json: false, env: debian11);
        output.WriteLine(doctor.ToString());
        Assert.Equal(0, doctor.ExitCode);
        Assert.Matches(@"bpf_loop\s+5\.17\s+hidden", doctor.Stdout);
        Assert.Contains("variant: fallback", doctor.Stdout);
        Assert.Contains("no TLS plaintext and no `tattle probe` here", doctor.Stdout);

        var probe = await TattleCli.RunAsync(["probe", "libc:getaddrinfo", "--", "true"], json: false, env: debian11);
        Assert.Equal(2, probe.ExitCode);
        Assert.Contains("probes need attach cookies (Linux 5.15)", probe.Stderr);
        Assert.Single(probe.Stderr.Trim().Split('\n'));

        var bad = await TattleCli.RunAsync(["run", "--", "true"], json: false, env: new Dictionary<string, string> { [KernelFeatures.HideVariable] = "Warp" });
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("no capability named 'Warp'", bad.Stderr);
    }

    [SkippableFact]
    public async Task ABadVariantFromTheFlagOrTheEnvironmentIsOneLine()
    {
        Requires.RootAndBpf(output);
        var flag = await TattleCli.RunAsync(["run", "--bpf-variant", "slow", "--", "true"], json: false);
        Assert.Equal(2, flag.ExitCode);
        Assert.Contains("--bpf-variant (or $TATTLE_BPF_VARIANT) must be auto, fast or fallback, not 'slow'", flag.Stderr);

        var psi = TattleCli.StartInfo(["run", "--", "true"]);
        psi.Environment["TATTLE_BPF_VARIANT"] = "turbo";
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.StandardInput.Close();
        string err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(2, p.ExitCode);
        Assert.Contains("not 'turbo'", err);
    }
}
