using System.Diagnostics;
using System.Net.Http;
using System.Text.Json;
using Tattle.Tests.Otlp;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// `tattle agent` against the real consumers: Prometheus scraping /metrics and an OTLP receiver (gRPC and
/// http/protobuf), with curl and python3 as the traced programs.
/// </summary>
[Collection("bpf")]
public sealed class AgentTests(ITestOutputHelper output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [SkippableTheory]
    [InlineData("")]
    [InlineData("--no-syscalls")] // the same counts from the socket layer's tracepoints and TCP states
    [InlineData("--raw-syscalls")] // the same counts from programs on every syscall
    [InlineData("--http-in-kernel")] // the same counts from the requests the kernel programs read
    public async Task Prometheus_ScrapesTheAgent_AndFindsTheRequestsWithTheirCounts(string syscalls)
    {
        bool noSyscalls = syscalls == "--no-syscalls";
        Requires.RootAndBpf(output);
        Requires.Program(output, "prometheus");
        using var web = ServerProcess.HttpServer();
        int agentPort = ServerProcess.FreeTcpPort(), promPort = ServerProcess.FreeTcpPort();
        // --no-syscalls is the fast build's (the suite's fallback pass sets TATTLE_BPF_VARIANT=fallback for the rest).
        using var agent = AgentProcess.Start(output, ["--comm", "curl", "--listen", $"127.0.0.1:{agentPort}", .. syscalls.Length > 0 ? (string[])[syscalls] : []],
            noSyscalls ? new Dictionary<string, string> { ["TATTLE_BPF_VARIANT"] = "fast" } : null);
        await agent.WaitReadyAsync(agentPort);
        var dir = Directory.CreateTempSubdirectory("tattle-prom-").FullName;
        File.WriteAllText(Path.Combine(dir, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: tattle
                static_configs:
                  - targets: ["127.0.0.1:{agentPort}"]
            """);
        using var prometheus = Process.Start(new ProcessStartInfo("prometheus",
            [$"--config.file={dir}/prometheus.yml", $"--storage.tsdb.path={dir}/data", $"--web.listen-address=127.0.0.1:{promPort}"])
        { RedirectStandardError = true, RedirectStandardOutput = true })!;
        _ = prometheus.StandardError.ReadToEndAsync();
        try
        {
            for (int i = 0; i < 5; i++)
            {
                Assert.Equal("200", await Curl($"http://127.0.0.1:{web.Port}/index.html"));
            }
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal("404", await Curl($"http://127.0.0.1:{web.Port}/missing-{i}"));
            }
            string selector = $"process_executable_name=\"curl\",server_port=\"{web.Port}\"";
            Assert.Equal(5, await PromValueAsync(promPort, $"sum(http_client_request_duration_seconds_count{{{selector},http_response_status_code=\"200\"}})", 5));
            Assert.Equal(3, await PromValueAsync(promPort, $"sum(http_client_request_duration_seconds_count{{{selector},http_response_status_code=\"404\",error_type=\"404\"}})", 3));
            Assert.Equal(3, await PromValueAsync(promPort, $"sum(tattle_request_duration_seconds_count{{{selector},tattle_status_class=\"4xx\",network_protocol_name=\"http\"}})", 3));
            Assert.Equal(8, await PromValueAsync(promPort, $"sum(tattle_connection_opened_total{{{selector},network_transport=\"tcp\",tattle_role=\"client\"}})", 8));
            Assert.Equal(8, await PromValueAsync(promPort, $"sum(tattle_connection_closed_total{{{selector}}})", 8));
            // Bytes are counted at close: 8 requests of curl's, each at least its request line and a Host header.
            double sent = await PromValueAsync(promPort, $"sum(tattle_network_io_bytes_total{{{selector},network_io_direction=\"transmit\"}})", null);
            Assert.InRange(sent, 8 * 60, 8 * 200);
            Assert.Equal(0, await PromValueAsync(promPort, "sum(tattle_events_lost_total) or vector(0)", 0));
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
            Directory.Delete(dir, true);
        }
        await agent.StopAsync();
    }

    /// <summary>A target's path may be a link (/usr/bin/python3 to python3.11): it names the file, as the kernel's match does.</summary>
    [SkippableFact]
    public async Task Exe_GivenAsASymlink_SelectsTheProgramItPointsTo()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var web = ServerProcess.HttpServer();
        var dir = Directory.CreateTempSubdirectory("tattle-agent-exe-").FullName;
        try
        {
            string link = Path.Combine(dir, "curl");
            File.CreateSymbolicLink(link, "/usr/bin/curl");
            string json = Path.Combine(dir, "records.jsonl");
            string missing = Path.Combine(dir, "missing");
            using var agent = AgentProcess.Start(output, ["--exe", link, "--exe", missing, "--json", json]);
            await agent.WaitForLogAsync("msg=tracing");
            Assert.Contains($"level=warn msg=\"an exe target names no file that can be opened: it matches no process\" exe={missing}", agent.Log);
            int pid = await CurlPid($"http://127.0.0.1:{web.Port}/index.html");
            await agent.StopAsync();
            var http = File.ReadLines(json).Select(l => JsonDocument.Parse(l).RootElement)
                .Where(r => r.GetProperty("type").GetString() == "http" && r.GetProperty("pid").GetInt32() == pid).ToList();
            Assert.Equal("/index.html", Assert.Single(http).GetProperty("path").GetString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableTheory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Otlp_GetsOneSpanPerExchange_WithSemanticAttributesAndProcessResources(string protocol)
    {
        Requires.RootAndBpf(output);
        await using var receiver = await OtlpReceiver.StartAsync();
        using var web = ServerProcess.HttpServer();
        string serverExe = File.ResolveLinkTarget($"/proc/{web.Pid}/exe", false)!.FullName;
        var endpoint = protocol == "grpc" ? receiver.GrpcEndpoint : receiver.HttpEndpoint;
        int agentPort = ServerProcess.FreeTcpPort();
        using var agent = AgentProcess.Start(output, ["--comm", "curl", "--exe", serverExe, "--listen", $"127.0.0.1:{agentPort}",
            "--otlp-endpoint", endpoint.ToString(), "--otlp-protocol", protocol, "--otlp-interval", "1s"]);
        await agent.WaitReadyAsync(agentPort);
        var pids = new List<int>();
        for (int i = 0; i < 3; i++)
        {
            pids.Add(await CurlPid($"http://127.0.0.1:{web.Port}/index.html?token=secret{i}"));
        }
        await agent.StopAsync();

        var resources = receiver.ResourceSpans();
        var spans = resources.SelectMany(r => r.Spans.Select(s => (r.Resource, Span: s))).ToList();
        var client = spans.Where(s => s.Span.Kind == 3 && s.Resource["process.executable.name"] as string == "curl").ToList();
        var server = spans.Where(s => s.Span.Kind == 2 && s.Resource["process.pid"] is long p && p == web.Pid).ToList();
        output.WriteLine($"{spans.Count} spans: {client.Count} curl, {server.Count} server");
        Assert.Equal(3, client.Count);
        Assert.Equal(3, server.Count);
        Assert.Equal(pids.Order(), client.Select(c => (int)(long)c.Resource["process.pid"]).Order());
        foreach (var (resource, span) in client)
        {
            Assert.Equal("GET", span.Name);
            Assert.Equal("GET", span.Attributes["http.request.method"]);
            Assert.Equal(200L, span.Attributes["http.response.status_code"]);
            Assert.Equal("/index.html", span.Attributes["url.path"]); // the query (a token) is not in the span
            Assert.Equal("127.0.0.1", span.Attributes["server.address"]);
            Assert.Equal((long)web.Port, span.Attributes["server.port"]);
            Assert.Equal("1.1", span.Attributes["network.protocol.version"]);
            Assert.Equal("/usr/bin/curl", resource["process.executable.path"]);
            Assert.Equal(Environment.MachineName, resource["host.name"]);
            Assert.Equal(0, span.StatusCode);
            Assert.True(span.EndUnixNs >= span.StartUnixNs && span.EndUnixNs - span.StartUnixNs < 5_000_000_000UL);
            Assert.True(Math.Abs((double)span.StartUnixNs / 1e9 - DateTimeOffset.UtcNow.ToUnixTimeSeconds()) < 120);
        }
        foreach (var (resource, span) in server)
        {
            Assert.Equal("GET", span.Attributes["http.request.method"]);
            Assert.Equal((long)web.Port, span.Attributes["server.port"]);
            Assert.Equal(serverExe, resource["process.executable.path"]);
        }
        // Spans of one process share one ResourceSpans per request: the server's three are under one resource.
        Assert.All(resources.Where(r => r.Spans.Any(s => s.Kind == 2)), r => Assert.Equal("tattle", r.ScopeName));
        var metrics = receiver.Metrics();
        var http = metrics.Where(m => m.Name == "http.client.request.duration").SelectMany(m => m.Points)
            .Where(p => p.Attributes.TryGetValue("server.port", out var port) && port is long l && l == web.Port).ToList();
        Assert.NotEmpty(http);
        Assert.Equal(3UL, http.Max(p => p.Count));
        Assert.Contains(metrics, m => m.Name == "tattle.connection.opened");
    }

    [SkippableFact]
    public async Task Agent_PicksUpAProcessStartedAfterIt_AndDropsItWhenItExits()
    {
        Requires.RootAndBpf(output);
        int agentPort = ServerProcess.FreeTcpPort();
        var dir = Directory.CreateTempSubdirectory("tattle-agent-late-").FullName;
        var link = Py.Named(dir, "tattle-late");
        using var agent = AgentProcess.Start(output, ["--comm", "tattle-late", "--listen", $"127.0.0.1:{agentPort}"]);
        await agent.WaitReadyAsync(agentPort);
        Assert.Equal(0, await MetricAsync(agentPort, "tattle_processes_traced"));
        using var web = ServerProcess.HttpServer();
        var late = Process.Start(new ProcessStartInfo(link, ["-c", $"""
            import urllib.request, time
            for i in range(4): urllib.request.urlopen("http://127.0.0.1:{web.Port}/index.html").read()
            print("done", flush=True)
            time.sleep(30)
            """]) { RedirectStandardOutput = true })!;
        try
        {
            Assert.Equal("done", await late.StandardOutput.ReadLineAsync());
            await WaitForAsync(async () => await MetricAsync(agentPort, "tattle_processes_traced") == 1, "the late process traced");
            await WaitForAsync(async () => await MetricAsync(agentPort, "tattle_request_duration_seconds_count",
                ("process_executable_name", "tattle-late"), ("server_port", web.Port.ToString())) == 4, "its 4 requests counted");
        }
        finally
        {
            late.Kill();
            await late.WaitForExitAsync();
        }
        await WaitForAsync(async () => await MetricAsync(agentPort, "tattle_processes_traced") == 0, "the exited process dropped");
        await agent.StopAsync();
        Directory.Delete(dir, true);
    }

    [SkippableFact]
    public async Task Sighup_ReloadsTheConfig_AndTheTargetsChange()
    {
        Requires.RootAndBpf(output);
        using var web = ServerProcess.HttpServer();
        int agentPort = ServerProcess.FreeTcpPort();
        var dir = Directory.CreateTempSubdirectory("tattle-agent-reload-").FullName;
        var config = Path.Combine(dir, "agent.yaml");
        File.WriteAllText(config, $"listen: 127.0.0.1:{agentPort}\ntargets:\n  - comm: curl\n");
        string wget = "wget";
        Requires.Program(output, wget);
        using var agent = AgentProcess.Start(output, ["--config", config]);
        await agent.WaitReadyAsync(agentPort);
        Assert.Equal("200", await Curl($"http://127.0.0.1:{web.Port}/index.html"));
        await Run(wget, "-q", "-O", "/dev/null", $"http://127.0.0.1:{web.Port}/index.html");
        (string, string)[] curlSeries = [("process_executable_name", "curl"), ("server_port", web.Port.ToString())];
        (string, string)[] wgetSeries = [("process_executable_name", "wget"), ("server_port", web.Port.ToString())];
        const string requests = "tattle_request_duration_seconds_count";
        await WaitForAsync(async () => await MetricAsync(agentPort, requests, curlSeries) == 1, "curl's request before the reload");
        Assert.Equal(0, await MetricAsync(agentPort, requests, wgetSeries));

        File.WriteAllText(config, $"listen: 127.0.0.1:{agentPort}\ntargets:\n  - comm: wget\n    depth: protocols\n");
        agent.Signal("HUP");
        await agent.WaitForLogAsync("msg=reloaded");
        Assert.Equal("200", await Curl($"http://127.0.0.1:{web.Port}/index.html"));
        await Run(wget, "-q", "-O", "/dev/null", $"http://127.0.0.1:{web.Port}/index.html");
        await WaitForAsync(async () => await MetricAsync(agentPort, requests, wgetSeries) == 1, "wget's request after the reload");
        Assert.Equal(1, await MetricAsync(agentPort, requests, curlSeries)); // curl is no longer a target

        // A broken file keeps the targets and says why.
        File.WriteAllText(config, "targets:\n  - colour: blue\n");
        agent.Signal("HUP");
        await agent.WaitForLogAsync("msg=\"reload failed");
        await Run(wget, "-q", "-O", "/dev/null", $"http://127.0.0.1:{web.Port}/index.html");
        await WaitForAsync(async () => await MetricAsync(agentPort, requests, wgetSeries) == 2, "wget still traced after a bad reload");
        await agent.StopAsync();
        Directory.Delete(dir, true);
    }

    [SkippableFact]
    public async Task Sighup_RaisingARunningProcessToTls_AttachesItsProbes()
    {
        Requires.RootAndBpf(output);
        await using var receiver = await OtlpReceiver.StartAsync();
        using var tls = TlsServers.OpenSslWww();
        int agentPort = ServerProcess.FreeTcpPort();
        var dir = Directory.CreateTempSubdirectory("tattle-agent-raise-").FullName;
        var config = Path.Combine(dir, "agent.yaml");
        string Config(string depth) => $"listen: 127.0.0.1:{agentPort}\notlp:\n  endpoint: {receiver.HttpEndpoint}\n  protocol: http/protobuf\n"
            + $"targets:\n  - comm: tattle-raise\n    depth: {depth}\n  - comm: no-such-program\n    depth: tls\n";
        File.WriteAllText(config, Config("protocols")); // the second target starts the agent with its TLS probes
        using var agent = AgentProcess.Start(output, ["--config", config]);
        await agent.WaitReadyAsync(agentPort);
        // One long-lived process: an HTTPS request before the reload (protocols: ciphertext, no span), then one a
        // line on its standard input until the plaintext of one is read after it.
        var client = Process.Start(new ProcessStartInfo(Py.Named(dir, "tattle-raise"), ["-c", $$"""
            import ssl, sys, urllib.request
            ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
            for line in sys.stdin:
                urllib.request.urlopen("https://127.0.0.1:{{tls.Port}}/" + line.strip(), context=ctx).read()
                print("done", flush=True)
            """]) { RedirectStandardInput = true, RedirectStandardOutput = true })!;
        try
        {
            await WaitForAsync(async () => await MetricAsync(agentPort, "tattle_processes_traced") == 1, "the client traced");
            await client.StandardInput.WriteLineAsync("before");
            Assert.Equal("done", await client.StandardOutput.ReadLineAsync());

            File.WriteAllText(config, Config("tls"));
            agent.Signal("HUP");
            await agent.WaitForLogAsync("depth_changed=1");
            // The probes go on in the background: ask until a request is read in plaintext.
            await WaitForAsync(async () =>
            {
                await client.StandardInput.WriteLineAsync("after");
                Assert.Equal("done", await client.StandardOutput.ReadLineAsync());
                await Task.Delay(300); // the exporter's batch
                return receiver.Spans().Any(sp => sp.Attributes.TryGetValue("url.path", out var path) && (string)path == "/after");
            }, "an HTTPS request of the running process read in plaintext after the reload");
        }
        finally
        {
            client.Kill();
            await agent.StopAsync();
        }
        var spans = receiver.Spans();
        Assert.DoesNotContain(spans, sp => sp.Attributes.TryGetValue("url.path", out var path) && (string)path == "/before");
        Assert.All(spans.Where(sp => sp.Attributes.TryGetValue("url.path", out var path) && (string)path == "/after"),
            sp => Assert.Equal("https", sp.Attributes["url.scheme"]));
        Directory.Delete(dir, true);
    }

    [SkippableFact]
    public async Task TenThousandPeerPorts_MakeAtMostTheCapOfSeriesPlusOther_AndTheFoldIsCounted()
    {
        Requires.RootAndBpf(output);
        int agentPort = ServerProcess.FreeTcpPort();
        var dir = Directory.CreateTempSubdirectory("tattle-agent-cap-").FullName;
        var link = Py.Named(dir, "tattle-ports");
        const int cap = 100;
        using var agent = AgentProcess.Start(output, ["--comm", "tattle-ports", "--max-series", cap.ToString(), "--listen", $"127.0.0.1:{agentPort}"]);
        await agent.WaitReadyAsync(agentPort);
        // 10 000 refused connects to distinct ports of 127.0.0.2 (nothing listens there): one series each, uncapped.
        var refused = Process.Start(new ProcessStartInfo(link, ["-c", """
            import socket
            n = 0
            for port in range(20000, 30000):
                s = socket.socket()
                try: s.connect(("127.0.0.2", port))
                except ConnectionRefusedError: n += 1
                s.close()
            print(n, flush=True)
            """]) { RedirectStandardOutput = true })!;
        Assert.Equal("10000", await refused.StandardOutput.ReadLineAsync());
        await refused.WaitForExitAsync();
        string metrics = "";
        await WaitForAsync(async () =>
        {
            metrics = await Http.GetStringAsync($"http://127.0.0.1:{agentPort}/metrics");
            return Lines(metrics, "tattle_connection_failed_total{").Sum(Value) >= 10000;
        }, "10 000 failures counted");
        var failed = Lines(metrics, "tattle_connection_failed_total{").ToList();
        var ours = failed.Where(l => l.Contains("process_executable_name=\"tattle-ports\"", StringComparison.Ordinal)).ToList();
        var other = failed.Where(l => l.Contains("process_executable_name=\"other\"", StringComparison.Ordinal)).ToList();
        output.WriteLine($"{failed.Count} series: {ours.Count} of tattle-ports, {other.Count} other");
        Assert.True(failed.Count <= cap + 1, $"{failed.Count} series for a cap of {cap}");
        Assert.Single(other);
        Assert.Equal(10000, ours.Sum(Value) + other.Sum(Value));
        // The fold count is an observable read at a scrape, maybe before the counters took the scrape's last
        // measurements (and a scrape's response is cached for a moment): it catches up on a later one.
        double folded = 0;
        await WaitForAsync(async () => (folded = await MetricAsync(agentPort, "tattle_metric_series_folded_total")) >= other.Sum(Value),
            "the fold count to reach the other series' count");
        Assert.True(folded >= 10000 - cap, $"folded {folded}");
        Assert.Equal(other.Sum(Value), folded, 0.5);
        await agent.StopAsync();
        Directory.Delete(dir, true);
    }

    [SkippableFact]
    public async Task Sigterm_MidLoad_FlushesTheLastBatch_AndReleasesEveryProbe()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "bpftool");
        await using var receiver = await OtlpReceiver.StartAsync();
        using var web = ServerProcess.HttpServer();
        int before = TattlePrograms();
        // TLS depth: uprobes go on curl's libssl too, so their release is checked with the rest.
        using var agent = AgentProcess.Start(output, ["--comm", "curl", "--depth", "tls", "--otlp-endpoint", receiver.HttpEndpoint.ToString(),
            "--otlp-protocol", "http/protobuf"]);
        await agent.WaitForLogAsync("msg=tracing");
        Assert.True(TattlePrograms() > before);
        // At TLS depth an HTTPS request is read in plaintext through the probes on curl's libssl. This curl starts
        // first and waits for its URL on stdin while the HTTP requests run, so it is surely probed whichever way its
        // probes go on (the spawns ring, or the worker when that ring was full); the race itself is tested below.
        using var tls = TlsServers.OpenSslWww();
        using var waiting = Process.Start(new ProcessStartInfo("curl", ["-sk", "-o", "/dev/null", "-w", "%{http_code}", "-K", "-"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        })!;
        const int requests = 40;
        for (int i = 0; i < requests; i++)
        {
            Assert.Equal("200", await Curl($"http://127.0.0.1:{web.Port}/index.html"));
        }
        await waiting.StandardInput.WriteLineAsync($"url = \"https://127.0.0.1:{tls.Port}/agent-tls\"");
        waiting.StandardInput.Close();
        Assert.Equal("200", await waiting.StandardOutput.ReadToEndAsync());
        await waiting.WaitForExitAsync();
        // At once, inside the exporter's 1 s batch delay: the last spans are only on their way out at exit.
        await agent.StopAsync();
        var spans = receiver.Spans().Where(s => s.Kind == 3).ToList();
        Assert.Equal(requests + 1, spans.Count);
        var https = Assert.Single(spans, s => (long)s.Attributes["server.port"] == tls.Port);
        Assert.Equal("https", https.Attributes["url.scheme"]);
        Assert.Equal("/agent-tls", https.Attributes["url.path"]);
        Assert.Contains($"spans_exported={requests + 1}", agent.Log);
        Assert.Contains("spans_dropped=0", agent.Log);
        // The kernel frees a program once its last link and fd are gone (after an RCU grace period).
        await WaitForAsync(() => Task.FromResult(TattlePrograms() <= before), "every program and link released");
    }

    [SkippableFact]
    public async Task TlsDepth_CurlsMatchedAtExec_AreReadInPlaintext_FromTheirFirstRequest()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        Requires.Program(output, "openssl");
        await using var receiver = await OtlpReceiver.StartAsync();
        using var tls = TlsServers.OpenSslWww();
        using var agent = AgentProcess.Start(output, ["--comm", "curl", "--depth", "tls", "--otlp-endpoint", receiver.HttpEndpoint.ToString(),
            "--otlp-protocol", "http/protobuf"]);
        await agent.WaitForLogAsync("msg=tracing");
        // Each curl is matched by the kernel at its exec and shakes hands a few milliseconds later: its probes go on
        // from the spawns ring, on the agent's foresight of its depth, before it maps libssl. Two busy loops keep
        // both CPUs taken, so the events ring's consumer reads each exec late, as on a loaded node.
        const int Curls = 10;
        using var busy = Process.Start("sh", ["-c", "for i in 1 2; do (while :; do :; done) & done; wait"])!;
        try
        {
            for (int i = 1; i <= Curls; i++)
            {
                Assert.Equal("200", (await Run("curl", "-sSk", "-o", "/dev/null", "-w", "%{http_code}", $"https://127.0.0.1:{tls.Port}/short-{i}")).Output);
            }
        }
        finally
        {
            busy.Kill(entireProcessTree: true);
            busy.WaitForExit();
        }
        await agent.StopAsync();
        // A curl whose request went before its probes but not its response makes a span without a path.
        var paths = receiver.Spans().Where(sp => sp.Kind == 3 && (long)sp.Attributes["server.port"] == tls.Port && sp.Attributes.ContainsKey("url.path"))
            .Select(sp => ((string)sp.Attributes["url.scheme"], (string)sp.Attributes["url.path"])).ToList();
        Assert.All(paths, p => Assert.Equal("https", p.Item1));
        Assert.Subset(Enumerable.Range(1, Curls).Select(i => $"/short-{i}").ToHashSet(), paths.Select(p => p.Item2).ToHashSet());
        Assert.Equal(paths.Count, paths.Distinct().Count());
        // The first uprobe registered after a quiet spell waits for an RCU grace period, which a curl to a local
        // server can outlast (one or two in a hundred with both CPUs busy, one in ten under CI's load): never in
        // silence, the log names each. Most are read whole: without probes at the exec none would be.
        int late = agent.Log.Split('\n').Count(l => l.Contains("msg=notice", StringComparison.Ordinal) && l.Contains("tls: plaintext probes", StringComparison.Ordinal));
        Assert.Equal(Curls - paths.Count, late);
        Assert.InRange(paths.Count, Curls / 2, Curls);
    }

    [SkippableFact]
    public async Task BadFlagsAndFiles_GetOneActionableLine()
    {
        Requires.RootAndBpf(output);
        var dir = Directory.CreateTempSubdirectory("tattle-agent-bad-").FullName;
        var file = Path.Combine(dir, "agent.yaml");
        File.WriteAllText(file, "targets:\n  - comm: nginx\n    depth: deep\n");
        foreach (var (args, expected) in new (string[], string)[]
        {
            ([], "no targets"),
            (["--comm", "curl", "--listen", "nowhere"], "expected HOST:PORT"),
            (["--comm", "curl", "--otlp-endpoint", "ftp://x"], "http:// or https://"),
            (["--exe", "bin/curl"], "absolute path"),
            (["--user", "no-such-user-here"], "no user named"),
            (["--config", file], "expected connections, protocols or tls"),
            (["--config", Path.Combine(dir, "missing.yaml")], "missing.yaml"),
        })
        {
            var r = await TattleCli.RunAsync(["agent", .. args], json: false);
            output.WriteLine(r.Stderr);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains(expected, r.Stderr);
            Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        Directory.Delete(dir, true);
    }

    [SkippableFact]
    public async Task ListenOnEveryAddress_AnswersWhateverTheHostHeader_AndATakenPortIsOneLine()
    {
        Requires.RootAndBpf(output);
        int agentPort = ServerProcess.FreeTcpPort();
        // docs/agent.md's 0.0.0.0: the exporter took '*' for a URI's host and the agent exited with an internal error.
        using (var agent = AgentProcess.Start(output, ["--comm", "tattle-none", "--listen", $"0.0.0.0:{agentPort}"]))
        {
            await agent.WaitReadyAsync(agentPort);
            foreach (string host in new[] { "127.0.0.1", "localhost" })
            {
                using var r = await Http.GetAsync($"http://{host}:{agentPort}/metrics");
                Assert.Equal(System.Net.HttpStatusCode.OK, r.StatusCode);
                Assert.Contains("tattle_processes_traced", await r.Content.ReadAsStringAsync());
            }
            await agent.StopAsync();
        }
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var busy = await TattleCli.RunAsync(["agent", "--comm", "tattle-none", "--listen", $"127.0.0.1:{port}"], json: false);
        output.WriteLine(busy.Stderr);
        Assert.Equal(2, busy.ExitCode);
        Assert.StartsWith($"tattle: agent: cannot listen on 127.0.0.1:{port}", busy.Stderr);
        Assert.DoesNotContain("internal error", busy.Stderr);
    }

    [SkippableFact]
    public async Task TheSystemdUnitsCommand_StartsTheAgentWithTheShippedConfig_AndItsStopSignalEndsItCleanly()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "systemd-analyze");
        var unit = File.ReadAllText(Path.Combine(Repo.Root, "packaging", "tattle-agent.service"));
        var dir = Directory.CreateTempSubdirectory("tattle-unit-").FullName;
        int port = ServerProcess.FreeTcpPort();
        var config = Path.Combine(dir, "agent.yaml");
        File.WriteAllText(config, File.ReadAllText(Path.Combine(Repo.Root, "packaging", "agent.yaml")).Replace("127.0.0.1:9464", $"127.0.0.1:{port}"));
        // systemd's own check of the unit, with the paths of this machine.
        var binary = TattleCli.CommandLine([])[0];
        var local = Path.Combine(dir, "tattle-agent.service");
        File.WriteAllText(local, unit.Replace("/usr/local/bin/tattle", binary).Replace("/etc/tattle/agent.yaml", config));
        using (var verify = Process.Start(new ProcessStartInfo("systemd-analyze", ["verify", local]) { RedirectStandardError = true })!)
        {
            string complaints = await verify.StandardError.ReadToEndAsync();
            await verify.WaitForExitAsync();
            Assert.True(verify.ExitCode == 0 && complaints.Trim() == "", complaints);
        }
        // The unit's ExecStart, as systemd would run it, against the shipped example.
        string exec = unit.Split('\n').Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..];
        Assert.Equal("/usr/local/bin/tattle agent --config /etc/tattle/agent.yaml", exec);
        string signal = unit.Split('\n').Single(l => l.StartsWith("KillSignal=", StringComparison.Ordinal))["KillSignal=SIG".Length..];
        using var agent = AgentProcess.Start(output, ["--config", config]);
        await agent.WaitReadyAsync(port);
        Assert.Contains("targets=\"comm=nginx depth=protocols\"", agent.Log);
        agent.Signal(signal);
        await agent.StopAsync(signalled: true);
        Directory.Delete(dir, true);
    }

    // Every program's name starts with tattle_; a link holds its program, so none left means no link either.
    private static int TattlePrograms() => BpfPrograms.Ids(name => name.StartsWith("tattle_", StringComparison.Ordinal)).Count;

    private static IEnumerable<string> Lines(string metrics, string prefix) =>
        metrics.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal));

    private static double Value(string line) => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The sum of the scraped samples of the metric that carry every label given.</summary>
    private static async Task<double> MetricAsync(int port, string name, params (string Label, string Value)[] labels)
    {
        string text = await Http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        return Lines(text, name + "{").Concat(Lines(text, name + " "))
            .Where(l => labels.All(x => l.Contains($"{x.Label}=\"{x.Value}\"", StringComparison.Ordinal)))
            .Sum(Value);
    }

    private async Task<double> PromValueAsync(int port, string query, double? expected)
    {
        double last = double.NaN;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var json = await Http.GetStringAsync($"http://127.0.0.1:{port}/api/v1/query?query={Uri.EscapeDataString(query)}");
                using var doc = JsonDocument.Parse(json);
                var result = doc.RootElement.GetProperty("data").GetProperty("result");
                if (result.GetArrayLength() > 0)
                {
                    last = double.Parse(result[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                    if (expected is null || last == expected)
                    {
                        return last;
                    }
                }
            }
            catch (HttpRequestException)
            {
                // Prometheus is still starting.
            }
            await Task.Delay(500);
        }
        output.WriteLine($"{query} = {last}");
        return last;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(200);
        }
    }

    private static async Task<string> Curl(string url) =>
        (await Run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", url)).Output;

    private static async Task<int> CurlPid(string url)
    {
        var (_, pid) = await Run("curl", "-s", "-o", "/dev/null", url);
        return pid;
    }

    private static async Task<(string Output, int Pid)> Run(string program, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        int pid = p.Id;
        var stderr = p.StandardError.ReadToEndAsync();
        string text = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        // A client that failed says why in the assertion's message rather than only in its own stderr.
        return (p.ExitCode == 0 ? text : $"{text} (exit {p.ExitCode}: {(await stderr).Trim()})", pid);
    }

    /// <summary>A `tattle agent` in the background, its stderr log collected.</summary>
    private sealed class AgentProcess : IDisposable
    {
        private readonly Process _process;
        private readonly ITestOutputHelper _output;
        private readonly System.Text.StringBuilder _log = new();

        private AgentProcess(Process process, ITestOutputHelper output)
        {
            _process = process;
            _output = output;
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (_log)
                    {
                        _log.AppendLine(e.Data);
                    }
                }
            };
            process.BeginErrorReadLine();
            _ = process.StandardOutput.ReadToEndAsync();
        }

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return _log.ToString();
                }
            }
        }

        public static AgentProcess Start(ITestOutputHelper output, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? env = null)
        {
            var p = Process.Start(TattleCli.StartInfo(["agent", .. args], env))!;
            p.StandardInput.Close();
            return new AgentProcess(p, output);
        }

        public async Task WaitReadyAsync(int port)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                Assert.False(_process.HasExited, $"the agent exited: {Log}");
                try
                {
                    using var r = await Http.GetAsync($"http://127.0.0.1:{port}/readyz");
                    if (r.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }
                Assert.True(DateTime.UtcNow < deadline, $"the agent was not ready in 30 s: {Log}");
                await Task.Delay(200);
            }
        }

        public async Task WaitForLogAsync(string text)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!Log.Contains(text, StringComparison.Ordinal))
            {
                Assert.False(_process.HasExited, $"the agent exited: {Log}");
                Assert.True(DateTime.UtcNow < deadline, $"no '{text}' in the agent's log: {Log}");
                await Task.Delay(100);
            }
        }

        public void Signal(string name)
        {
            using var kill = Process.Start("kill", [$"-{name}", _process.Id.ToString()]);
            kill.WaitForExit();
        }

        /// <param name="signalled">The stop signal was sent already: another would find the agent's handler gone once
        /// it has stopped, and kill it (exit 143) while it returns.</param>
        public async Task StopAsync(bool signalled = false)
        {
            if (!signalled)
            {
                Signal("TERM");
            }
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            _output.WriteLine(Log);
            Assert.Equal(0, _process.ExitCode);
            Assert.Contains("msg=stopped", Log);
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
                _output.WriteLine(Log);
            }
            _process.Dispose();
        }
    }
}
