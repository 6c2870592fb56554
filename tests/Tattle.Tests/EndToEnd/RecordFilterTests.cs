using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>--port, --host, --app on a real trace, their errors, and the --json - warning.</summary>
public sealed class RecordFilterTests(ITestOutputHelper output)
{
    private static int RemotePort(System.Text.Json.JsonElement e, string field = "remote") => e.GetProperty(field).GetProperty("port").GetInt32();

    [SkippableFact]
    public async Task Port_KeepsOnlyThatServersConnections_InRecordsAndSummary()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var wanted = ServerProcess.HttpServer();
        using var other = ServerProcess.HttpServer();
        var r = await TattleCli.RunAsync(["run", "--port", $"{wanted.Port}", "--", "curl", "-s", "-o", "/dev/null", "-o", "/dev/null",
            $"http://127.0.0.1:{wanted.Port}/", $"http://127.0.0.1:{other.Port}/"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Single(r.OfType("process.start"));
        var open = Assert.Single(r.OfType("conn.open"));
        Assert.Equal(wanted.Port, RemotePort(open));
        Assert.Equal(wanted.Port, RemotePort(Assert.Single(r.OfType("http"))));
        var row = Assert.Single(r.Summary.GetProperty("rows").EnumerateArray());
        Assert.Equal(wanted.Port, RemotePort(row, "endpoint"));
    }

    [SkippableFact]
    public async Task Port_WithNoOtherOutput_StillNarrowsTheSummaryTable()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var wanted = ServerProcess.HttpServer();
        using var other = ServerProcess.HttpServer();
        // -q and no --json: the table on standard error is the only output, and it too keeps only --port's rows.
        var r = await TattleCli.RunAsync(["run", "-q", "--port", $"{wanted.Port}", "--", "curl", "-s", "-o", "/dev/null", "-o", "/dev/null",
            $"http://127.0.0.1:{wanted.Port}/", $"http://127.0.0.1:{other.Port}/"], json: false);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"127.0.0.1:{wanted.Port}", r.Stderr);
        Assert.DoesNotContain($"127.0.0.1:{other.Port}", r.Stderr);
    }

    [SkippableFact]
    public async Task App_Dns_KeepsNoHttpConnection()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var server = ServerProcess.HttpServer();
        var r = await TattleCli.RunAsync(["run", "--app", "dns", "--", "curl", "-s", "-o", "/dev/null", $"http://127.0.0.1:{server.Port}/"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Empty(r.OfType("conn.open"));
        Assert.Empty(r.OfType("http"));
        Assert.Empty(r.Summary.GetProperty("rows").EnumerateArray());
        Assert.NotEmpty(r.OfType("process.exit"));
    }

    [Theory]
    [InlineData("--port", "abc", "--port expects a port from 1 to 65535, got 'abc'")]
    [InlineData("--port", "70000", "--port expects a port from 1 to 65535, got '70000'")]
    [InlineData("--host", "10.0.0.0/40", "--host: '10.0.0.0/40' is not a network")]
    [InlineData("--app", "gopher", "--app: unknown protocol 'gopher'")]
    public async Task BadFilterValue_OneLineAndExit2(string option, string value, string message)
    {
        var r = await TattleCli.RunAsync(["run", option, value, "--", "true"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr.Split('\n')[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [SkippableFact]
    public async Task JsonToStdout_WithRun_WarnsThatTheCommandSharesIt()
    {
        Requires.RootAndBpf(output);
        var r = await TattleCli.RunAsync(["run", "--json", "-", "-q", "--", "echo", "hello"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("hello", r.Stdout);
        Assert.Contains("--json - and the traced command share standard output", r.Stderr);
        Assert.Contains("--json FILE", r.Stderr);
    }
}
