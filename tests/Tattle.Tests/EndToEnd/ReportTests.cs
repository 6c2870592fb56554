using System.Text.Json;
using System.Text.RegularExpressions;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// Four local HTTP services (python's http.server on 127.0.0.2-5) under names a test dnsmasq serves (svc1-4.test),
/// and a client script — sh, dig, curl and python3 — that resolves and reaches the first three; environment
/// variables make it reach the fourth (EXTRA), a closed port of the first (REFUSE) and exit with a code (CODE).
/// </summary>
public sealed class ReportServices : IDisposable
{
    private readonly List<ServerProcess> _servers = [];

    public ReportServices()
    {
        DnsPort = ServerProcess.FreeTcpPort();
        ClosedPort = ServerProcess.FreeTcpPort();
        try
        {
            _servers.Add(Programs.Dnsmasq(DnsPort, "127.0.0.1", [.. Enumerable.Range(1, 4).Select(i => $"--address=/svc{i}.test/127.0.0.{i + 1}")]));
            for (int i = 1; i <= 4; i++)
            {
                var http = ServerProcess.HttpServer($"127.0.0.{i + 1}");
                _servers.Add(http);
                Ports.Add(http.Port);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        Script = Path.Combine(Path.GetTempPath(), $"tattle-report-client-{Environment.ProcessId}-{Guid.NewGuid():N}.sh");
        File.WriteAllText(Script, $$"""
            #!/bin/sh
            r() { dig @127.0.0.1 -p {{DnsPort}} +short +tries=1 +time=3 "$1" A; }
            a=$(r svc1.test); curl -s -o /dev/null http://$a:{{Ports[0]}}/users/42; curl -s -o /dev/null http://$a:{{Ports[0]}}/users/43
            a=$(r svc2.test); {{Py.Exe}} -c "import urllib.request; urllib.request.urlopen('http://$a:{{Ports[1]}}/index.html').read()"
            a=$(r svc3.test); curl -s -o /dev/null http://$a:{{Ports[2]}}/big.bin
            if [ -n "$EXTRA" ]; then a=$(r svc4.test); curl -s -o /dev/null http://$a:{{Ports[3]}}/; fi
            if [ -n "$REFUSE" ]; then a=$(r svc1.test); curl -s -o /dev/null http://$a:{{ClosedPort}}/; fi
            if [ -n "$UDP" ]; then {{Py.Exe}} -c "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b'x', (a, {{ClosedPort}})) for a in ('127.0.0.2', '127.0.0.3')]"; fi
            exit ${CODE:-0}

            """);
        File.SetUnixFileMode(Script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    public int DnsPort { get; }

    /// <summary>A port of 127.0.0.2 nothing listens on.</summary>
    public int ClosedPort { get; }

    /// <summary>svc1-4.test's ports.</summary>
    public List<int> Ports { get; } = [];

    public string Script { get; }

    public void Dispose()
    {
        foreach (var s in _servers)
        {
            s.Dispose();
        }
        if (Script is not null)
        {
            File.Delete(Script);
        }
    }
}

/// <summary>
/// `tattle report`, `check`, `diff` and the firewall rules on real runs: the report lists what the client
/// reached, the policy written from one run lets the same run through and stops a run that goes further.
/// </summary>
[Collection("bpf")]
public sealed class ReportTests(ITestOutputHelper output) : IDisposable
{
    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (var f in _files)
        {
            File.Delete(f);
        }
    }

    private static void RequireTools(ITestOutputHelper output)
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "dig");
        Requires.Program(output, "dnsmasq");
        Requires.Program(output, "curl");
    }

    private string Temp(string suffix)
    {
        string path = Path.Combine(Path.GetTempPath(), $"tattle-report-{Guid.NewGuid():N}{suffix}");
        _files.Add(path);
        return path;
    }

    /// <summary>Traces the client (with the environment given) into a JSON Lines file.</summary>
    private async Task<string> Trace(ReportServices services, string env = "", string verb = "run", params string[] options)
    {
        string jsonl = Temp(".jsonl");
        var r = await TattleCli.RunAsync([verb, "-q", "--json", jsonl, .. options, "--", "env", .. env.Split(' ', StringSplitOptions.RemoveEmptyEntries), services.Script], TimeSpan.FromSeconds(90), json: false);
        output.WriteLine(r.ToString());
        Assert.True(File.Exists(jsonl), r.ToString());
        return jsonl;
    }

    private async Task<JsonElement> ReportJson(params string[] files)
    {
        var r = await TattleCli.RunAsync(["report", "--json", .. files], json: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout);
        return doc.RootElement.Clone();
    }

    private static IEnumerable<JsonElement> Endpoints(JsonElement report) => report.GetProperty("endpoints").EnumerateArray();

    private static string Target(JsonElement e) =>
        e.GetProperty("names").EnumerateArray().Select(n => n.GetString()!).FirstOrDefault() ?? Str(e, "addr") ?? Str(e, "path")!;

    [SkippableFact]
    public async Task Report_ListsExactlyTheServicesReached_WithNamesCountsAndProtocols()
    {
        RequireTools(output);
        using var services = new ReportServices();
        string trace = await Trace(services);
        var report = await ReportJson(trace);
        Assert.Equal(0, report.GetProperty("lost").GetInt64());
        var tcp = Endpoints(report).Where(e => Str(e, "proto") == "tcp").ToDictionary(Target);
        Assert.Equal(["svc1.test", "svc2.test", "svc3.test"], tcp.Keys.Order());
        for (int i = 0; i < 3; i++)
        {
            var e = tcp[$"svc{i + 1}.test"];
            Assert.Equal($"127.0.0.{i + 2}", Str(e, "addr"));
            Assert.Equal(services.Ports[i], e.GetProperty("port").GetInt32());
            Assert.Equal(["http"], e.GetProperty("apps").EnumerateArray().Select(a => a.GetString()));
            Assert.Equal("client", Str(e, "role"));
            Assert.False(e.GetProperty("tls").GetBoolean());
        }
        Assert.Equal("/usr/bin/curl", Str(tcp["svc1.test"], "program"));
        Assert.Equal(2, tcp["svc1.test"].GetProperty("connections").GetInt64());
        Assert.Equal(2, tcp["svc1.test"].GetProperty("requests").GetInt64());
        Assert.Equal("/users/{id}", Str(tcp["svc1.test"].GetProperty("http")[0], "path"));
        Assert.StartsWith("/usr/bin/python3", Str(tcp["svc2.test"], "program"));
        Assert.True(tcp["svc3.test"].GetProperty("bytes_recv").GetInt64() > 200_000); // big.bin
        var dns = Assert.Single(Endpoints(report), e => Str(e, "proto") == "udp");
        Assert.Equal(("/usr/bin/dig", "127.0.0.1", services.DnsPort, 3), (Str(dns, "program"), Str(dns, "addr"), dns.GetProperty("port").GetInt32(), dns.GetProperty("requests").GetInt32()));
        Assert.Equal(["svc1.test", "svc2.test", "svc3.test"], dns.GetProperty("dns").EnumerateArray().Select(q => Str(q, "query")));
        Assert.Equal("root", Str(tcp["svc1.test"], "user"));
        Assert.Equal(JsonValueKind.Null, tcp["svc1.test"].GetProperty("container").ValueKind);

        // The table and Markdown say the same.
        var table = await TattleCli.RunAsync(["report", trace], json: false);
        Assert.Equal(0, table.ExitCode);
        Assert.StartsWith("no loss", table.Stdout);
        Assert.Matches($@"tcp\s+client\s+127\.0\.0\.2:{services.Ports[0]}\s+svc1\.test\s+http\s+2\s+2", table.Stdout);
        Assert.Contains("GET /users/{id} ×2", table.Stdout);
        var md = await TattleCli.RunAsync(["report", "--markdown", trace], json: false);
        Assert.Contains($"| tcp | client | 127.0.0.2:{services.Ports[0]} | svc1.test | http |", md.Stdout);
    }

    [SkippableFact]
    public async Task AuditThenGate_PolicyOutLetsTheSameRunThrough_AndStopsWhatGoesFurther()
    {
        RequireTools(output);
        using var services = new ReportServices();
        string first = await Trace(services);
        string policy = Temp(".yaml");
        var audit = await TattleCli.RunAsync(["report", "--policy-out", policy, first], json: false);
        Assert.Equal(0, audit.ExitCode);
        output.WriteLine(File.ReadAllText(policy));
        Assert.Contains("host: svc1.test", File.ReadAllText(policy));

        // The same program passes, with its own exit code.
        var same = await TattleCli.RunAsync(["check", "-q", "--policy", policy, "--", "env", "CODE=7", services.Script], TimeSpan.FromSeconds(90), json: false);
        output.WriteLine(same.ToString());
        Assert.Equal(7, same.ExitCode);
        Assert.Contains("every endpoint reached is allowed", same.Stderr);

        // A fourth service: exit 3, the violation named.
        string markdown = Temp(".md");
        string further = Temp(".jsonl");
        var extra = await TattleCli.RunAsync(["check", "-q", "--policy", policy, "--json", further, "--markdown", markdown, "--", "env", "EXTRA=1", services.Script],
            TimeSpan.FromSeconds(90), json: false);
        output.WriteLine(extra.ToString());
        Assert.Equal(3, extra.ExitCode);
        var violation = Assert.Single(extra.Stderr.Split('\n'), l => l.StartsWith("tattle check: violation:", StringComparison.Ordinal));
        Assert.Contains($"/usr/bin/curl (user root) -> tcp 127.0.0.5:{services.Ports[3]} (svc4.test), 1 attempt", violation);
        Assert.Contains("svc4.test", File.ReadAllText(markdown));

        // A refused connect to a port the policy does not name is a violation too.
        var refused = await TattleCli.RunAsync(["check", "-q", "--policy", policy, "--", "env", "REFUSE=1", services.Script], TimeSpan.FromSeconds(90), json: false);
        output.WriteLine(refused.ToString());
        Assert.Equal(3, refused.ExitCode);
        Assert.Contains($"-> tcp 127.0.0.2:{services.ClosedPort} (svc1.test), 1 attempt, ECONNREFUSED×1", refused.Stderr);

        // UDP sends from one unconnected socket to two peers: each is a violation.
        var udp = await TattleCli.RunAsync(["check", "-q", "--policy", policy, "--", "env", "UDP=1", services.Script], TimeSpan.FromSeconds(90), json: false);
        output.WriteLine(udp.ToString());
        Assert.Equal(3, udp.ExitCode);
        Assert.Contains($"/usr/bin/python3 (user root) -> udp 127.0.0.2:{services.ClosedPort} (svc1.test), 1 attempt", udp.Stderr);
        Assert.Contains($"/usr/bin/python3 (user root) -> udp 127.0.0.3:{services.ClosedPort} (svc2.test), 1 attempt", udp.Stderr);
        Assert.Contains("2 endpoints not allowed", udp.Stderr);

        // Drift: the fourth service is added; --fail-on-new makes it exit 3.
        var diff = await TattleCli.RunAsync(["diff", first, further], json: false);
        output.WriteLine(diff.ToString());
        Assert.Equal(0, diff.ExitCode);
        Assert.Matches($@"(?m)^\+ svc4\.test tcp port {services.Ports[3]} http", diff.Stdout);
        Assert.DoesNotMatch(@"(?m)^\+ svc[123]", diff.Stdout);
        Assert.Equal(3, (await TattleCli.RunAsync(["diff", "--fail-on-new", first, further], json: false)).ExitCode);
        Assert.Equal(0, (await TattleCli.RunAsync(["diff", "--fail-on-new", further, first], json: false)).ExitCode);

        // A report's JSON is as good as the trace.
        string oldReport = Temp(".json");
        Assert.Equal(0, (await TattleCli.RunAsync(["report", "--json", "-o", oldReport, first], json: false)).ExitCode);
        var fromJson = await TattleCli.RunAsync(["diff", "--json", oldReport, further], json: false);
        using var d = JsonDocument.Parse(fromJson.Stdout);
        Assert.Equal("svc4.test", Str(Assert.Single(d.RootElement.GetProperty("added").EnumerateArray()), "endpoint"));
    }

    [SkippableFact]
    public async Task NftRules_FromAPolicy_EnforceIt_InANetworkNamespace_AndLeaveNothingBehind()
    {
        Requires.Root(output, "network namespaces and nftables");
        Requires.Program(output, "nft");
        Requires.Program(output, "ip");
        Requires.Program(output, "curl");
        var before = HostSnapshot.Take();
        using (var inet = TestInternet.Create())
        {
            // The servers are on the host end of the veth; the client runs inside the namespace, where the rules go.
            string host = inet.Subnet.Host(1).ToString();
            using var allowed = ServerProcess.HttpServer(host);
            using var other = ServerProcess.HttpServer(host);
            string policy = Temp(".yaml");
            File.WriteAllText(policy, $"resolvers: false\nallow:\n  - cidr: {host}\n    port: {allowed.Port}\n    proto: tcp\n");
            string rules = Temp(".nft");
            var made = await TattleCli.RunAsync(["report", "--format", "nft", "-o", rules, policy], json: false);
            Assert.True(made.ExitCode == 0, made.ToString());
            output.WriteLine(File.ReadAllText(rules));
            Assert.Equal(0, Programs.Run("nft", "-c", "-f", rules).ExitCode);

            string Curl(int port) => $"http://{host}:{port}/index.html";
            Assert.Equal(0, Programs.Run("ip", "netns", "exec", inet.Netns, "curl", "-s", "-o", "/dev/null", "-m", "5", Curl(other.Port)).ExitCode);
            var load = Programs.Run("ip", "netns", "exec", inet.Netns, "nft", "-f", rules);
            Assert.True(load.ExitCode == 0, load.Stderr);
            Assert.Equal(0, Programs.Run("ip", "netns", "exec", inet.Netns, "curl", "-s", "-o", "/dev/null", "-m", "5", Curl(allowed.Port)).ExitCode);
            // Dropped, not refused: curl's connect times out (28).
            Assert.Equal(28, Programs.Run("ip", "netns", "exec", inet.Netns, "curl", "-s", "-o", "/dev/null", "-m", "2", Curl(other.Port)).ExitCode);
            var counter = Programs.Run("ip", "netns", "exec", inet.Netns, "nft", "list", "table", "inet", "tattle_egress").Stdout;
            Assert.Matches(@"counter packets [1-9]\d* bytes \d+ drop", counter);
            // The host's own ruleset never had the table.
            Assert.DoesNotContain("tattle_egress", Programs.Run("nft", "list", "ruleset").Stdout);

            string ipt = Temp(".rules");
            Assert.Equal(0, (await TattleCli.RunAsync(["report", "--format", "iptables", "-o", ipt, policy], json: false)).ExitCode);
            if (File.Exists("/usr/sbin/iptables-restore"))
            {
                var test = Programs.Run("sh", "-c", $"ip netns exec {inet.Netns} iptables-restore --test --noflush < {ipt}");
                Assert.True(test.ExitCode == 0, test.Stderr + File.ReadAllText(ipt));
            }
        }
        before.AssertUnchanged();
    }

    [SkippableFact]
    public async Task FirewallRules_PerUser_Load()
    {
        Requires.Root(output, "nft -c and iptables-restore --test need root");
        Requires.Program(output, "nft");
        Requires.Program(output, "iptables-restore");
        string policy = Temp(".yaml");
        File.WriteAllText(policy, "allow:\n  - {cidr: 10.0.0.0/8, ports: [443, 8443], proto: tcp, user: root}\n  - {cidr: '2001:db8::/32', port: 53}\n");
        var nft = await TattleCli.RunAsync(["report", "--format", "nft", policy], json: false);
        Assert.Equal(0, nft.ExitCode);
        Assert.Contains("meta skuid 0 ip daddr 10.0.0.0/8 meta l4proto tcp th dport { 443, 8443 } accept", nft.Stdout);
        Assert.Contains("ip6 daddr 2001:db8::/32 meta l4proto { tcp, udp } th dport 53 accept", nft.Stdout);
        string nftFile = Temp(".nft");
        File.WriteAllText(nftFile, nft.Stdout);
        var check = Programs.Run("nft", "-c", "-f", nftFile);
        Assert.True(check.ExitCode == 0, check.Stderr);
        var ipt = await TattleCli.RunAsync(["report", "--format", "iptables", policy], json: false);
        Assert.Equal(0, ipt.ExitCode);
        Assert.Contains("-A TATTLE-EGRESS -m owner --uid-owner 0 -d 10.0.0.0/8 -p tcp -m multiport --dports 443,8443", ipt.Stdout);
        Assert.Contains("IPv6 addresses go in ip6tables rules", ipt.Stderr);
        string iptFile = Temp(".rules");
        File.WriteAllText(iptFile, ipt.Stdout);
        using var inet = TestInternet.Create(); // a namespace of its own: --test parses and checks, the host's tables are not read
        var test = Programs.Run("sh", "-c", $"ip netns exec {inet.Netns} iptables-restore --test --noflush < {iptFile}");
        Assert.True(test.ExitCode == 0, test.Stderr);
    }

    [SkippableFact]
    public async Task FirewallRules_FromATrace_NameTheServices_AndLoad()
    {
        RequireTools(output);
        Requires.Program(output, "nft");
        using var services = new ReportServices();
        string trace = await Trace(services);
        var nft = await TattleCli.RunAsync(["report", "--format", "nft", trace], json: false);
        Assert.Equal(0, nft.ExitCode);
        Assert.Contains($"ip daddr 127.0.0.2 meta l4proto tcp th dport {services.Ports[0]} accept comment \"svc1.test\"", nft.Stdout);
        string file = Temp(".nft");
        File.WriteAllText(file, nft.Stdout);
        Assert.Equal(0, Programs.Run("nft", "-c", "-f", file).ExitCode);
        var k8s = await TattleCli.RunAsync(["report", "--format", "k8s", trace], json: false);
        Assert.Contains("kind: NetworkPolicy", k8s.Stdout);
        Assert.Contains("cidr: 127.0.0.2/32", k8s.Stdout);
        Assert.Contains("kind: CiliumNetworkPolicy", k8s.Stdout);
        Assert.Contains("matchName: \"svc1.test\"", k8s.Stdout);
        var docs = new YamlDotNet.RepresentationModel.YamlStream();
        docs.Load(new StringReader(k8s.Stdout));
        Assert.Equal(2, docs.Documents.Count);
    }

    [SkippableFact]
    public async Task Report_GroupsByUser()
    {
        RequireTools(output);
        Requires.Program(output, "setpriv");
        Requires.Program(output, "useradd");
        using var services = new ReportServices();
        string[] users = [$"tattlerpa{Environment.ProcessId % 100000}", $"tattlerpb{Environment.ProcessId % 100000}"];
        try
        {
            foreach (var u in users)
            {
                var add = Programs.Run("useradd", "-M", "-r", "-s", "/usr/sbin/nologin", u);
                Assert.True(add.ExitCode == 0, add.Stderr);
            }
            string url = $"http://127.0.0.2:{services.Ports[0]}/";
            string jsonl = Temp(".jsonl");
            var r = await TattleCli.RunAsync(["run", "-q", "--json", jsonl, "--", "sh", "-c",
                string.Join("; ", users.Select(u => $"setpriv --reuid {u} --regid {u} --clear-groups sh -c 'curl -s -o /dev/null {url}; sleep 0.5'"))], json: false);
            output.WriteLine(r.ToString());
            var report = await ReportJson(jsonl);
            var curls = Endpoints(report).Where(e => Str(e, "proto") == "tcp").ToList();
            Assert.Equal(users, curls.Select(e => Str(e, "user")).Order());
            Assert.All(curls, e => Assert.Equal("/usr/bin/curl", Str(e, "program")));
            Assert.Equal(users, report.GetProperty("programs").EnumerateArray().Where(p => Str(p, "program") == "/usr/bin/curl").Select(p => Str(p, "user")).Order());
        }
        finally
        {
            foreach (var u in users)
            {
                Programs.Run("userdel", u);
            }
        }
        Assert.All(users, u => Assert.DoesNotContain($"\n{u}:", "\n" + File.ReadAllText("/etc/passwd")));
    }

    [SkippableFact]
    public async Task Report_GroupsByContainer_FromARuntimeNamedCgroup()
    {
        RequireTools(output);
        string root = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup"
            : File.Exists("/sys/fs/cgroup/unified/cgroup.controllers") ? "/sys/fs/cgroup/unified" : "";
        Requires.That(output, root.Length > 0, "a cgroup v2 hierarchy (/sys/fs/cgroup or /sys/fs/cgroup/unified)");
        using var services = new ReportServices();
        string id = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        string slice = Path.Combine(root, "system.slice");
        bool madeSlice = !Directory.Exists(slice);
        string scope = Path.Combine(slice, $"docker-{id}.scope");
        Directory.CreateDirectory(scope);
        try
        {
            string url = $"http://127.0.0.2:{services.Ports[0]}/";
            string jsonl = Temp(".jsonl");
            var r = await TattleCli.RunAsync(["run", "-q", "--json", jsonl, "--", "sh", "-c",
                $"curl -s -o /dev/null {url}; sh -c 'echo $$ > {scope}/cgroup.procs && curl -s -o /dev/null {url}; sleep 0.5'"], json: false);
            output.WriteLine(r.ToString());
            Assert.Contains($"/system.slice/docker-{id}.scope", File.ReadAllText(jsonl));
            var report = await ReportJson(jsonl);
            var curls = Endpoints(report).Where(e => Str(e, "proto") == "tcp").ToList();
            Assert.Equal([null, $"docker:{id[..12]}"], curls.Select(e => Str(e, "container")).Order());
        }
        finally
        {
            for (int i = 0; i < 50 && Directory.Exists(scope); i++)
            {
                try
                {
                    Directory.Delete(scope); // rmdir: empty once its processes have exited
                }
                catch (IOException)
                {
                    Thread.Sleep(100);
                }
            }
            if (madeSlice)
            {
                Directory.Delete(slice);
            }
        }
        Assert.False(Directory.Exists(scope));
    }

    [SkippableFact]
    public async Task Html_ShowsEveryEndpointAndProgram_InHeadlessChromium_AndFetchesNothing()
    {
        RequireTools(output);
        Requires.Program(output, "chromium");
        using var services = new ReportServices();
        string trace = await Trace(services, "REFUSE=1");
        string dir = Path.Combine(AppContext.BaseDirectory, "report-html");
        Directory.CreateDirectory(dir);
        string page = Path.Combine(dir, "report.html");
        var r = await TattleCli.RunAsync(["report", "--html", page, trace], json: false);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"open it with xdg-open {page}", r.Stderr);
        string html = File.ReadAllText(page);
        Assert.DoesNotMatch("(?i)https?://", html);
        Assert.Contains("Content-Security-Policy", html);
        Assert.Contains("default-src 'none'", html);

        var report = await ReportJson(trace);
        string profile = Directory.CreateTempSubdirectory("tattle-chromium-").FullName;
        try
        {
            string[] common = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", $"--user-data-dir={profile}"];
            var dom = Programs.Run("chromium", [.. common, "--dump-dom", $"file://{page}"]);
            Assert.True(dom.ExitCode == 0, dom.Stderr);
            string shot = Path.Combine(dir, "report.png");
            File.Delete(shot);
            var png = Programs.Run("chromium", [.. common, $"--screenshot={shot}", "--window-size=1300,1400", $"file://{page}"]);
            Assert.True(png.ExitCode == 0 && File.Exists(shot), png.Stderr);
            output.WriteLine($"screenshot: {shot}");

            var programs = report.GetProperty("programs").EnumerateArray().Select(p => Str(p, "program")!).ToList();
            var pairs = Endpoints(report).Select(e => (Str(e, "program"), $"{Str(e, "proto")} {Target(e)}" + (e.GetProperty("port").ValueKind == JsonValueKind.Number ? $":{e.GetProperty("port").GetInt32()}" : ""))).Distinct().ToList();
            foreach (var p in programs)
            {
                Assert.Contains($"class=\"node program\" data-program=\"{System.Net.WebUtility.HtmlEncode(p)}\"", dom.Stdout);
            }
            foreach (var (_, endpoint) in pairs)
            {
                Assert.Contains($"data-endpoint=\"{System.Net.WebUtility.HtmlEncode(endpoint)}\"", dom.Stdout);
            }
            // One edge per (program, endpoint) pair; the refused one is drawn as an error.
            var edges = Regex.Matches(dom.Stdout, "<path class=\"edge[^\"]*\" data-program=\"([^\"]*)\" data-endpoint=\"([^\"]*)\"");
            Assert.Equal(pairs.Count, edges.Count);
            Assert.Equal(pairs.Count, edges.Select(m => (m.Groups[1].Value, m.Groups[2].Value)).Distinct().Count());
            Assert.Contains(edges, m => m.Value.Contains("edge error", StringComparison.Ordinal) && m.Groups[2].Value.EndsWith($":{services.ClosedPort}", StringComparison.Ordinal));
            Assert.Equal(Endpoints(report).Count(), Regex.Matches(dom.Stdout, "<tr class=\"endpoint\"").Count);
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }

    [SkippableTheory]
    [InlineData("report", "/no/such/trace.jsonl", "tattle report: cannot open /no/such/trace.jsonl")]
    [InlineData("report", "/etc/hostname", "tattle report: /etc/hostname: not JSON Lines (tattle run --json FILE) or a pcap/pcapng capture")]
    [InlineData("report", "BROKEN", "no line is a tattle record")]
    [InlineData("report", "EMPTY", "the file is empty")]
    [InlineData("diff", "BROKEN", "tattle diff:")]
    public async Task BadInput_OneLineAndExit2(string verb, string file, string message)
    {
        if (file is "BROKEN" or "EMPTY")
        {
            string path = Temp(".jsonl");
            File.WriteAllText(path, file == "BROKEN" ? "{broken\n{\"no\":\"type\"}\n" : "");
            file = path;
        }
        string[] args = verb == "diff" ? [verb, file, file] : [verb, file];
        var r = await TattleCli.RunAsync(args, json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
    }

    [SkippableFact]
    public async Task Check_BadPolicy_OneLineAndExit2_BeforeRunningAnything()
    {
        string policy = Temp(".yaml");
        File.WriteAllText(policy, "allow:\n  - {host: a.test, port: 99999}\n");
        string marker = Temp(".ran");
        var r = await TattleCli.RunAsync(["check", "--policy", policy, "--", "touch", marker], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"tattle check: --policy {policy}: {{host: a.test, port: 99999}}: the port must be a number from 1 to 65535", r.Stderr.TrimEnd('\n'));
        Assert.False(File.Exists(marker));
        var missing = await TattleCli.RunAsync(["check", "--", "true"], json: false);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--policy", missing.Stderr);
        var badEntry = await TattleCli.RunAsync(["check", "--allow", "a.test:99999", "--", "touch", marker], json: false);
        Assert.Equal(2, badEntry.ExitCode);
        Assert.Contains("a.test:99999", badEntry.Stderr);
        Assert.Single(badEntry.Stderr.TrimEnd('\n').Split('\n'));
        Assert.False(File.Exists(marker));
    }

    /// <summary>--allow entries stand for a policy file, alone or added to one's entries.</summary>
    [SkippableFact]
    public async Task Check_AllowEntries_JudgeTheRunLikeAPolicyFile()
    {
        Requires.RootAndBpf(output);
        using var web = ServerProcess.HttpServer();
        int closed = ServerProcess.FreeTcpPort();
        string[] script = ["sh", "-c", $"curl -s -o /dev/null http://127.0.0.1:{web.Port}/; curl -s -m 2 -o /dev/null http://127.0.0.1:{closed}/; exit 0"];

        var allowed = await TattleCli.RunAsync(["check", "-q", "--allow", $"127.0.0.1:{web.Port}", "--allow", $"127.0.0.1:{closed}", "--", .. script], json: false);
        output.WriteLine(allowed.ToString());
        Assert.Equal(0, allowed.ExitCode);
        Assert.Contains("every endpoint reached is allowed by --allow", allowed.Stderr);

        string policy = Temp(".yaml");
        File.WriteAllText(policy, $"allow:\n  - 127.0.0.1:{web.Port}\n");
        var refused = await TattleCli.RunAsync(["check", "-q", "--policy", policy, "--allow", "127.0.0.9", "--", .. script], json: false);
        output.WriteLine(refused.ToString());
        Assert.Equal(3, refused.ExitCode);
        Assert.Contains($"-> tcp 127.0.0.1:{closed} (no name), 1 attempt, ECONNREFUSED×1", refused.Stderr);
        Assert.DoesNotContain($"127.0.0.1:{web.Port} (no name)", refused.Stderr);
        Assert.Contains($"1 endpoint not allowed by {policy} and --allow: exit 3", refused.Stderr);
    }

    /// <summary>
    /// A Host header or SNI is the client's say: naming an allowed host to an address no DNS answer gave it must not
    /// get the connection past a host rule, or any program could reach anything by sending `Host: allowed.test`.
    /// </summary>
    [SkippableFact]
    public async Task Check_ANameOnlyTheClientSaid_DoesNotSatisfyAHostRule()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        Requires.Program(output, "openssl");
        using var web = ServerProcess.HttpServer();
        using var tls = TlsServers.OpenSslWww();
        string policy = Temp(".yaml");
        File.WriteAllText(policy, "allow:\n  - host: allowed.test\n");
        string json = Temp(".jsonl");
        string[] script = ["sh", "-c", $"curl -s -o /dev/null -H 'Host: allowed.test' http://127.0.0.1:{web.Port}/; "
            + $"curl -sk -o /dev/null --resolve allowed.test:{tls.Port}:127.0.0.1 https://allowed.test:{tls.Port}/; exit 0"];

        var r = await TattleCli.RunAsync(["check", "-q", "--policy", policy, "--json", json, "--", .. script], json: false);
        output.WriteLine(r.ToString());
        Assert.Equal(3, r.ExitCode);
        const string Unresolved = "(allowed.test: named by the client only, no DNS answer gave this address), 1 attempt";
        Assert.Contains($"-> tcp 127.0.0.1:{web.Port} {Unresolved}", r.Stderr);
        Assert.Contains($"-> tcp 127.0.0.1:{tls.Port} {Unresolved}", r.Stderr);
        Assert.Contains($"2 endpoints not allowed by {policy}: exit 3", r.Stderr);
        // The records keep the name, and say whose it is.
        var opens = File.ReadLines(json).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "http" && e.GetProperty("remote").ValueKind == JsonValueKind.Object)
            .Select(e => (Port: e.GetProperty("remote").GetProperty("port").GetInt32(), Host: e.GetProperty("remote").GetProperty("host").GetString(),
                From: e.GetProperty("remote").GetProperty("host_from").GetString())).ToHashSet();
        Assert.Contains((web.Port, "allowed.test", "http"), opens);
        Assert.Contains((tls.Port, "allowed.test", "sni"), opens);
    }
}
