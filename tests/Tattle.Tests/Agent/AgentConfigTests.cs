using Tattle.Agent;
using Tattle.Cli.Commands;

namespace Tattle.Tests.Agent;

public sealed class AgentConfigTests
{
    [Fact]
    public void TheShippedExampleParses()
    {
        var config = AgentConfig.Load(Path.Combine(Support.Repo.Root, "packaging", "agent.yaml"));
        Assert.Equal("127.0.0.1:9464", config.Listen);
        var target = Assert.Single(config.Targets);
        Assert.Equal("nginx", target.Comm);
        Assert.Equal(AgentDepth.Protocols, target.Depth);
        Assert.Equal(2000, config.MaxSeries);
        Assert.Null(config.Otlp);
    }

    [Fact]
    public void EveryKeyIsRead()
    {
        var config = AgentConfig.Parse("""
            listen: 0.0.0.0:9100
            service_name: edge-agent
            otlp:
              endpoint: http://collector:4318
              protocol: http/protobuf
              headers: {x-tenant: blue}
              traces: false
              interval: 500ms
            targets:
              - exe: /usr/sbin/nginx
                depth: tls
              - user: "0"
                depth: connections
              - cgroup: /system.slice/redis-server.service
              - container: 0123456789abcdef
              - all: true
            limits: {max_series: 50, max_queue: 10, memory_mb: 64}
            """, "t.yaml");
        Assert.Equal("0.0.0.0:9100", config.Listen);
        Assert.Equal("edge-agent", config.ServiceName);
        Assert.Equal(new Uri("http://collector:4318"), config.Otlp!.Endpoint);
        Assert.Equal("http/protobuf", config.Otlp.Protocol);
        Assert.Equal([KeyValuePair.Create("x-tenant", "blue")], config.Otlp.Headers);
        Assert.False(config.Otlp.Traces);
        Assert.True(config.Otlp.Metrics);
        Assert.Equal(TimeSpan.FromMilliseconds(500), config.Otlp.Interval);
        Assert.Equal(5, config.Targets.Count);
        Assert.Equal(("/usr/sbin/nginx", AgentDepth.Tls), (config.Targets[0].Exe, config.Targets[0].Depth));
        Assert.Equal((0u, AgentDepth.Connections), (config.Targets[1].Uid, config.Targets[1].Depth));
        Assert.Equal("/system.slice/redis-server.service", config.Targets[2].Cgroup);
        Assert.Equal("0123456789abcdef", config.Targets[3].Container);
        Assert.True(config.Targets[4].All);
        Assert.Equal((50, 10, 64), (config.MaxSeries, config.MaxQueue, config.MemoryMb));
    }

    [Theory]
    [InlineData("colour: blue", "unknown key 'colour'")]
    [InlineData("targets: nginx", "targets: expected a list")]
    [InlineData("targets:\n  - depth: tls", "a target needs comm, exe, user, cgroup, container or all: true")]
    [InlineData("targets:\n  - comm: a-name-longer-than-15", "longer than the kernel's 15 bytes")]
    [InlineData("targets:\n  - exe: nginx", "must be an absolute path")]
    [InlineData("targets:\n  - container: XYZ", "at least 12 lower-case hex digits")]
    [InlineData("targets:\n  - user: no-such-user-anywhere", "no user named 'no-such-user-anywhere'")]
    [InlineData("listen: 9464", "expected HOST:PORT")]
    [InlineData("otlp: {protocol: grpc}", "endpoint is required")]
    [InlineData("otlp: {endpoint: 'collector:4317'}", "expected an http:// or https:// URL")]
    [InlineData("otlp: {endpoint: 'http://c:4317', protocol: thrift}", "expected grpc or http/protobuf")]
    [InlineData("otlp: {endpoint: 'http://c:4317', interval: soon}", "expected a duration")]
    [InlineData("limits: {max_series: -1}", "expected a positive whole number")]
    [InlineData("targets: [ {comm: x", "line")]
    public void BadConfigurationsSayWhereAndWhy(string yaml, string expected)
    {
        var e = Assert.Throws<AgentConfigException>(() => AgentConfig.Parse(yaml, "agent.yaml"));
        Assert.StartsWith("agent.yaml", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void FlagsAddTargetsAndOverrideTheFile()
    {
        var dir = Directory.CreateTempSubdirectory("tattle-agent-config-").FullName;
        var file = Path.Combine(dir, "agent.yaml");
        File.WriteAllText(file, "listen: 127.0.0.1:1\ntargets:\n  - comm: nginx\n");
        var config = AgentCommand.Build(file, new AgentCommand.AgentFlags(
            ["curl"], ["/usr/bin/wget"], ["root"], [], [], All: false, Depth: "connections", Listen: "127.0.0.1:2",
            OtlpEndpoint: "http://127.0.0.1:4317", OtlpProtocol: null, OtlpInterval: "2s", MaxSeries: 7, MaxQueue: null, MemoryMb: null)
        {
            OtlpHeaders = ["x-api-key = k1"],
            NoMetrics = true,
            ServiceName = "edge",
        });
        Assert.Equal(["nginx", "curl", null, null], config.Targets.Select(t => t.Comm));
        Assert.Equal(AgentDepth.Protocols, config.Targets[0].Depth);
        Assert.All(config.Targets.Skip(1), t => Assert.Equal(AgentDepth.Connections, t.Depth));
        Assert.Equal(0u, config.Targets[3].Uid);
        Assert.Equal("127.0.0.1:2", config.Listen);
        Assert.Equal(TimeSpan.FromSeconds(2), config.Otlp!.Interval);
        Assert.Equal([KeyValuePair.Create("x-api-key", "k1")], config.Otlp.Headers);
        Assert.True(config.Otlp.Traces);
        Assert.False(config.Otlp.Metrics);
        Assert.Equal("edge", config.ServiceName);
        Assert.Equal(7, config.MaxSeries);
        Assert.Equal(AgentConfig.DefaultMaxQueue, config.MaxQueue);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void NoTargetAnywhereIsAnError()
    {
        var e = Assert.Throws<AgentConfigException>(() => AgentCommand.Build(null, new AgentCommand.AgentFlags(
            [], [], [], [], [], false, null, null, null, null, null, null, null, null)));
        Assert.Contains("no targets", e.Message);
    }

    [Theory]
    [InlineData("http://c:4318", "http://c:4318/v1/metrics")]
    [InlineData("http://c:4318/", "http://c:4318/v1/metrics")]
    [InlineData("http://c:4318/otlp", "http://c:4318/otlp/v1/metrics")]
    [InlineData("http://c:4318/otlp/v1/metrics", "http://c:4318/otlp/v1/metrics")]
    public void HttpProtobufEndpointsGetTheSignalPathOnce(string endpoint, string expected) =>
        Assert.Equal(new Uri(expected), AgentTelemetry.SignalUri(new Uri(endpoint), "v1/metrics"));

    [Theory]
    [InlineData("127.0.0.1:9464", "http://127.0.0.1:9464/")]
    [InlineData("0.0.0.0:9464", "http://*:9464/")]
    [InlineData("[::]:9464", "http://*:9464/")]
    [InlineData("localhost:1", "http://localhost:1/")]
    public void ListenAddressesBecomeListenerPrefixes(string listen, string prefix) =>
        Assert.Equal(prefix, AgentTelemetry.Prefix(listen));
}
