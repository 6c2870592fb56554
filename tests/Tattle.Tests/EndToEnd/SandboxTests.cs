using System.Text.Json;
using Tattle.Tests.Output.Pcapng;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// `tattle sandbox`: real namespaces, veths and nft rules; the "internet" is a second namespace the test creates
/// (<see cref="TestInternet"/>), so no packet leaves the machine. After every test the host's namespaces, links,
/// nft ruleset, ip_forward, /etc/netns and state files are exactly as before.
/// </summary>
[Collection("bpf")]
public class SandboxTests(ITestOutputHelper output)
{
    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string Remote(JsonElement e) => $"{Str(e.GetProperty("remote"), "addr")}:{e.GetProperty("remote").GetProperty("port").GetInt32()}";

    /// <summary>Runs the tattle <paramref name="psi"/> starts to its end: its exit code and standard error.</summary>
    private async Task<(int ExitCode, string Stderr)> RunToEnd(System.Diagnostics.ProcessStartInfo psi)
    {
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.StandardInput.Close();
        string stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        output.WriteLine(stderr);
        return (p.ExitCode, stderr);
    }

    private void Ready()
    {
        Requires.RootAndBpf(output);
        Requires.RootAndLibpcap(output);
        Requires.Program(output, "nft");
        Requires.Program(output, "ip");
        Requires.Program(output, "curl");
        Requires.Program(output, "tshark");
        Requires.Program(output, "dnsmasq");
    }

    private static string TempPcap() => Path.Combine(Path.GetTempPath(), $"tattle-sandbox-{Guid.NewGuid():N}.pcapng");

    // The tests run as root from a root shell: the commands they sandbox run as root on purpose.
    private async Task<TattleResult> Sandbox(params string[] args)
    {
        var r = await TattleCli.RunAsync(["sandbox", "--as-root", .. args]);
        output.WriteLine(r.ToString());
        return r;
    }

    [SkippableFact]
    public async Task Curl_ReachesTheTestInternet_PcapAndSummaryShowTheExchange()
    {
        Ready();
        using var inet = TestInternet.Create();
        inet.Http();
        var before = HostSnapshot.Take();
        string pcap = TempPcap();
        var r = await Sandbox("-w", pcap, "--", "curl", "-s", "-m", "10", $"http://{inet.Address}:8000/index.html");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("hello from tattle's test server", r.Stdout);
        Assert.Matches(@"tattle: sandbox tattle-\d+-\d+: 10\.200\.\d+\.\d+/30 via tsb", r.Stderr);

        // The trace sees curl's connection and the HTTP exchange from inside the namespace.
        var open = Assert.Single(r.OfType("conn.open"), o => Str(o, "proto") == "tcp");
        Assert.Equal($"{inet.Address}:8000", Remote(open));
        Assert.Equal("curl", Str(open, "comm"));
        var http = Assert.Single(r.OfType("http"));
        Assert.Equal("/index.html", Str(http, "path"));
        Assert.Equal(200, http.GetProperty("status").GetInt32());
        Assert.Contains($"{inet.Address}:8000", r.Stderr); // the summary row

        // tshark reads the capture of the host veth: the request and the response, tagged with curl.
        var uris = PcapTools.TsharkHttp(pcap, 8000, "http.request", "http.request.uri", "ip.dst", "frame.comment");
        var request = Assert.Single(uris);
        Assert.Equal(["/index.html", inet.Address], request[..2]);
        Assert.StartsWith($"pid={open.GetProperty("pid").GetInt32()} comm=curl", request[2]);
        Assert.Equal(["200"], PcapTools.TsharkHttp(pcap, 8000, "http.response", "http.response.code").Select(row => row[0]));
        File.Delete(pcap);
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task NoSyscalls_TracesTheSandboxedCommandFromTheSocketLayer()
    {
        Ready();
        using var inet = TestInternet.Create();
        inet.Http();
        var before = HostSnapshot.Take();
        var r = await Sandbox("--no-syscalls", "--bpf-variant", "fast", "--", "curl", "-s", "-m", "10", $"http://{inet.Address}:8000/index.html");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("hello from tattle's test server", r.Stdout);

        // The connect is learnt from its SYN_SENT state, takes its fd at the first payload, and ends at CLOSE.
        var open = Assert.Single(r.OfType("conn.open"), o => Str(o, "proto") == "tcp");
        Assert.Equal($"{inet.Address}:8000", Remote(open));
        Assert.Equal("curl", Str(open, "comm"));
        var http = Assert.Single(r.OfType("http"));
        Assert.Equal(("/index.html", 200), (Str(http, "path"), http.GetProperty("status").GetInt32()));
        Assert.Equal(Str(open, "conn"), Str(http, "conn"));
        var close = Assert.Single(r.OfType("conn.close"), c => Str(c, "conn") == Str(open, "conn"));
        Assert.Equal(http.GetProperty("req_bytes").GetInt64(), close.GetProperty("bytes_sent").GetInt64());
        Assert.Equal(http.GetProperty("resp_bytes").GetInt64(), close.GetProperty("bytes_recv").GetInt64());
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task Dns_FromDnsmasqInTheTestInternet_NamesTheServerInTheSummary()
    {
        Ready();
        using var inet = TestInternet.Create();
        inet.Http();
        inet.Dns("web.test");
        var before = HostSnapshot.Take();
        var r = await Sandbox("--dns", inet.Address, "--", "curl", "-s", "-m", "10", "http://web.test:8000/index.html");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("hello from tattle's test server", r.Stdout);
        var a = Assert.Single(r.OfType("dns"), d => Str(d, "qtype") == "A");
        Assert.Equal("web.test", Str(a, "query"));
        Assert.Equal([inet.Address], a.GetProperty("answers").EnumerateArray().Select(x => Str(x, "data")));
        Assert.Matches($@"curl\[\d+\]\s+tcp\s+client\s+{inet.Address.Replace(".", "\\.")}:8000\s+web\.test\s+http", r.Stderr);
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task Dns_HostResolverOnLoopback_IsReachedThroughTheVethByDnat()
    {
        Ready();
        using var inet = TestInternet.Create();
        inet.Http();
        // A resolver on the host's loopback, as systemd-resolved's 127.0.0.53 would be.
        using var dns = Programs.Dnsmasq(53, "127.0.0.77", $"--address=/loop.test/{inet.Address}");
        var before = HostSnapshot.Take();
        var r = await Sandbox("--dns", "127.0.0.77", "--", "curl", "-s", "-m", "10", "http://loop.test:8000/index.html");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("forwarded to the host's loopback resolver 127.0.0.77", r.Stderr);
        var a = Assert.Single(r.OfType("dns"), d => Str(d, "qtype") == "A");
        Assert.Equal("loop.test", Str(a, "query"));
        Assert.Contains("loop.test", r.Stderr);
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task Offline_RecordsTheQueryAndTheRefusedConnect_AndPassesTheExitCode()
    {
        Ready();
        var before = HostSnapshot.Take();
        string pcap = TempPcap();
        var r = await Sandbox("--offline", "-w", pcap, "--", "curl", "-s", "-m", "10", "http://nowhere.test/x");
        Assert.Equal(7, r.ExitCode); // curl's "couldn't connect"
        var a = Assert.Single(r.OfType("dns"), d => Str(d, "qtype") == "A");
        Assert.Equal("nowhere.test", Str(a, "query"));
        var fake = Assert.Single(a.GetProperty("answers").EnumerateArray()).GetProperty("data").GetString()!;
        Assert.StartsWith("198.18.", fake);
        var fail = Assert.Single(r.OfType("conn.fail"), f => Str(f, "proto") == "tcp");
        Assert.Equal($"{fake}:80", Remote(fail));
        Assert.Equal("ECONNREFUSED", Str(fail, "error"));
        Assert.Contains($"tattle: offline, refused tcp {fake}:80 (nowhere.test), 1 packet", r.Stderr);
        // On the wire: the question, the fake answer, the SYN and the reset.
        var dnsRows = PcapTools.TsharkFiltered(pcap, "dns", "dns.qry.name", "dns.a");
        Assert.Contains(dnsRows, row => row[0] == "nowhere.test" && row[1] == fake);
        Assert.Single(PcapTools.TsharkFiltered(pcap, $"ip.dst == {fake} && tcp.flags.syn == 1", "tcp.dstport"));
        File.Delete(pcap);
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task Allow_LetsTheListedThrough_RefusesAndReportsTheRest_Exits3()
    {
        Ready();
        using var inet = TestInternet.Create();
        inet.Http(8000);
        inet.Http(8001);
        var before = HostSnapshot.Take();
        string script = $"curl -s -m 10 -o /dev/null http://{inet.Address}:8000/; echo first=$?; curl -s -m 10 -o /dev/null http://{inet.Address}:8001/; echo second=$?";
        var r = await Sandbox("--allow", $"{inet.Address}:8000", "--", "sh", "-c", script);
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("first=0", r.Stdout);
        Assert.Contains("second=7", r.Stdout);
        Assert.Contains($"tattle: blocked tcp {inet.Address}:8001, 1 packet", r.Stderr);
        Assert.DoesNotContain($"blocked tcp {inet.Address}:8000", r.Stderr);
        Assert.Equal("ECONNREFUSED", Str(Assert.Single(r.OfType("conn.fail"), f => Str(f, "proto") == "tcp"), "error"));

        // The same policy from a YAML file; everything allowed: nothing reported, curl's exit code.
        string policy = Path.Combine(Path.GetTempPath(), $"tattle-policy-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(policy, $"# what the build may reach\nallow:\n  - {inet.Address}:8000\n  - {inet.Address}/32:8001\n");
        var all = await Sandbox("--policy", policy, "--", "sh", "-c", script);
        File.Delete(policy);
        Assert.Equal(0, all.ExitCode);
        Assert.Contains("second=0", all.Stdout);
        Assert.DoesNotContain("blocked", all.Stderr);
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task Allow_AnAddressOfTheHostItself_IsLetIn()
    {
        Ready();
        using var inet = TestInternet.Create();
        // The host's end of the test internet's veth is one of the host's own addresses, as its LAN address would
        // be: a packet to it is delivered on the host (nft's input hook), not forwarded.
        string hostAddress = inet.Subnet.Host(1).ToString();
        using var allowed = ServerProcess.HttpServer(hostAddress);
        using var other = ServerProcess.HttpServer(hostAddress);
        var before = HostSnapshot.Take();
        string script = $"curl -s -m 10 -o /dev/null http://{hostAddress}:{allowed.Port}/; echo first=$?; curl -s -m 10 -o /dev/null http://{hostAddress}:{other.Port}/; echo second=$?";
        var r = await Sandbox("--allow", $"{hostAddress}:{allowed.Port}", "--", "sh", "-c", script);
        Assert.Contains("first=0", r.Stdout);
        Assert.Contains("second=7", r.Stdout);
        Assert.Equal(3, r.ExitCode);
        Assert.Contains($"tattle: blocked tcp {hostAddress}:{other.Port}, 1 packet", r.Stderr);
        Assert.DoesNotContain($"blocked tcp {hostAddress}:{allowed.Port}", r.Stderr);
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task ExitCodes_PassThrough_AndACrashingCommandLeavesNothing()
    {
        Ready();
        var before = HostSnapshot.Take();
        Assert.Equal(42, (await Sandbox("--", "sh", "-c", "exit 42")).ExitCode);
        // Killed by SIGSEGV: 128+11, like a shell; a daemon it left behind is killed with the namespace.
        Assert.Equal(139, (await Sandbox("--", "sh", "-c", "sleep 60 & kill -SEGV $$")).ExitCode);
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task BadInput_OneLine_Nonzero_NothingCreated()
    {
        Ready();
        using var inet = TestInternet.Create();
        var before = HostSnapshot.Take();
        var notFound = await Sandbox("--", "no-such-command-tattle");
        Assert.Equal(127, notFound.ExitCode);
        Assert.Equal("tattle: no-such-command-tattle: command not found", notFound.Stderr.Trim());
        // The test internet's /30 is a host route now: asking for it is refused before anything is made.
        var clash = await Sandbox("--subnet", inet.Subnet.ToString(), "--", "true");
        Assert.Equal(2, clash.ExitCode);
        Assert.Equal($"tattle: --subnet {inet.Subnet} overlaps {inet.Subnet} ({inet.HostVeth}): choose another", clash.Stderr.Trim());
        var hostBits = await Sandbox("--subnet", "10.200.0.1/30", "--", "true");
        Assert.Equal(2, hostBits.ExitCode);
        Assert.StartsWith("tattle: --subnet expects an IPv4 network", hostBits.Stderr);
        var badAllow = await Sandbox("--allow", "10.0.0.0/8:99999", "--", "true");
        Assert.Equal(2, badAllow.ExitCode);
        Assert.Equal("tattle: --allow 10.0.0.0/8:99999: the port must be a number from 1 to 65535", badAllow.Stderr.Trim());
        var noDashes = await TattleCli.RunAsync(["sandbox", "true"], json: false);
        Assert.Equal(2, noDashes.ExitCode);
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task FromARootShell_TheCommandAsRootIsRefused_UnlessAsRoot()
    {
        Ready();
        var before = HostSnapshot.Take();
        var psi = TattleCli.StartInfo(["sandbox", "--", "true"]);
        psi.Environment.Remove("SUDO_USER");
        var (exitCode, stderr) = await RunToEnd(psi);
        Assert.Equal(2, exitCode);
        Assert.Equal("tattle: the command would run as root, which can leave the sandbox: give -u USER, start tattle with sudo from your account, or --as-root", stderr.Trim());
        var explicitRoot = await TattleCli.RunAsync(["sandbox", "-u", "root", "--", "true"], json: false);
        Assert.Equal(2, explicitRoot.ExitCode);
        var asNobody = await TattleCli.RunAsync(["sandbox", "-u", "nobody", "--", "sh", "-c", "id -u"]);
        output.WriteLine(asNobody.ToString());
        Assert.Equal(0, asNobody.ExitCode);
        Assert.Equal("65534", asNobody.Stdout.Trim());
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task NotRoot_RefusedWithOneLine()
    {
        Ready();
        var before = HostSnapshot.Take();
        // The same tattle.dll as nobody: no root, no capabilities.
        var psi = TattleCli.StartInfo(["sandbox", "--", "true"]);
        psi.ArgumentList.Insert(0, psi.FileName);
        foreach (var a in new[] { "--", "--clear-groups", "--regid=65534", "--reuid=65534" })
        {
            psi.ArgumentList.Insert(0, a);
        }
        psi.FileName = "setpriv";
        psi.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        var (exitCode, stderr) = await RunToEnd(psi);
        Assert.Equal(2, exitCode);
        Assert.Matches("^tattle: .*needs root.*sudo", stderr.Trim());
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task Sigterm_EndsTheCommand_AndRemovesTheSandbox()
    {
        Ready();
        var before = HostSnapshot.Take();
        using var run = TattleCli.Start(["sandbox", "--as-root", "--", "sleep", "60"]);
        WaitForSandboxOf(run.Pid);
        // The namespace comes first; SIGTERM before the command runs is "interrupted while creating" (exit 130).
        await run.WaitForRecordsAsync("process.start", 1);
        var r = await run.StopAsync();
        output.WriteLine(r.ToString());
        Assert.Equal(143, r.ExitCode); // sleep's own death by SIGTERM, passed through
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task Sigkill_LeavesTheStateFile_AndCleanupRemovesEverything()
    {
        Ready();
        var before = HostSnapshot.Take();
        using (var run = TattleCli.Start(["sandbox", "--as-root", "--", "sh", "-c", "sleep 60 & sleep 60"]))
        {
            string netns = WaitForSandboxOf(run.Pid);
            Tattle.Interop.Libc.Kill(run.Pid, 9);
            for (int i = 0; i < 100 && !run.HasExited; i++)
            {
                await Task.Delay(20);
            }
            Assert.Contains(netns, Programs.Run("ip", "netns", "list").Stdout); // left behind, as SIGKILL leaves it
            Assert.True(File.Exists(Path.Combine(Tattle.Sandbox.SandboxState.Directory, $"sandbox-{netns["tattle-".Length..]}.json")));
            var clean = await TattleCli.RunAsync(["sandbox", "--cleanup"], json: false);
            output.WriteLine(clean.ToString());
            Assert.Equal(0, clean.ExitCode);
            Assert.Contains($"tattle: {netns}: removed", clean.Stderr);
        }
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task TwoSandboxesAtOnce_DistinctNamesAndSubnets_BothReachTheServer()
    {
        Ready();
        using var inet = TestInternet.Create();
        inet.Http();
        var before = HostSnapshot.Take();
        string script = $"ip -4 -o addr show dev eth0; sleep 1; curl -s -m 10 -o /dev/null http://{inet.Address}:8000/index.html";
        var both = await Task.WhenAll(Sandbox("--", "sh", "-c", script), Sandbox("--", "sh", "-c", script));
        Assert.All(both, r => Assert.Equal(0, r.ExitCode));
        var addresses = both.Select(r => System.Text.RegularExpressions.Regex.Match(r.Stdout, @"inet (\S+)").Groups[1].Value).ToList();
        Assert.All(addresses, a => Assert.EndsWith("/30", a));
        Assert.NotEqual(addresses[0], addresses[1]);
        Assert.All(both, r => Assert.Single(r.OfType("http")));
        before.AssertUnchanged();
    }

    /// <summary>Waits until tattle <paramref name="pid"/> has its sandbox up (its state file and namespace), returns the namespace.</summary>
    private static string WaitForSandboxOf(int pid)
    {
        string netns = $"tattle-{pid}-0";
        for (int i = 0; i < 300; i++)
        {
            // The command runs once the namespace has a process in it.
            if (Programs.Run("ip", "netns", "pids", netns) is { ExitCode: 0, Stdout.Length: > 0 })
            {
                return netns;
            }
            Thread.Sleep(50);
        }
        throw new TimeoutException($"tattle {pid} did not start its sandbox");
    }
}
