using System.CommandLine;
using Tattle.Agent;
using Tattle.Capture.Bpf;
using Tattle.Cli.Commands;
using Tattle.Cli.Tracing;

namespace Tattle.Tests.Cli;

/// <summary>What the trace commands' options become in the tracer's settings.</summary>
public sealed class TraceConfigTests
{
    private static TraceConfig Bind(params string[] args)
    {
        var options = new TraceOptions();
        var run = new Command("run");
        options.AddTo(run);
        var result = new RootCommand { run }.Parse(["run", .. args]);
        Assert.Empty(result.Errors);
        return options.Bind(result);
    }

    [Theory]
    [InlineData(new string[0], TracerOptions.DefaultWakeupBytes)]
    [InlineData(new[] { "--no-syscalls" }, TracerOptions.DefaultWakeupBytes)]
    [InlineData(new[] { "--stats" }, TracerOptions.CountingWakeupBytes)]
    [InlineData(new[] { "--stats-in-kernel" }, TracerOptions.CountingWakeupBytes)]
    public void OnlyACountingTraceWaitsForMoreBytesBeforeItIsWoken(string[] args, long expected)
    {
        Assert.Equal(expected, Bind(args).WakeupBytes);
    }

    [Fact]
    public void TheAgentWaitsForMoreBytesUnlessItWritesEachMessage()
    {
        var agent = AgentTraceTarget.TraceConfigFor(new AgentConfig());
        Assert.Equal(TracerOptions.CountingWakeupBytes, agent.WakeupBytes);
        Assert.Equal(TracerOptions.DefaultWakeupBytes, (agent with { JsonPath = "agent.jsonl" }).WakeupBytes);
    }
}
