using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>A connect that fails is named like one that succeeds: by the DNS answer the traced programs got.</summary>
[Collection("bpf")]
public sealed class FailedConnectTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task RefusedConnect_ToAResolvedAddress_CarriesTheName()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "dig");
        Requires.Program(output, "dnsmasq");
        int dnsPort = ServerProcess.FreeTcpPort();
        int closed = ServerProcess.FreeTcpPort(); // nothing listens there: the connect is refused at once
        using var dns = Programs.Dnsmasq(dnsPort, "127.0.0.1", "--address=/refused.example.test/127.0.0.1");
        var r = await TattleCli.RunAsync(["run", "--proto", $"{dnsPort}=dns", "--", "sh", "-c",
            $"dig @127.0.0.1 -p {dnsPort} +short refused.example.test A; {Py.Exe} -c 'import socket; socket.create_connection((\"127.0.0.1\", {closed}))' 2>/dev/null; true"]);
        output.WriteLine(r.ToString());
        var fail = Assert.Single(r.OfType("conn.fail"), f => Str(f, "proto") == "tcp");
        Assert.Equal("ECONNREFUSED", Str(fail, "error"));
        Assert.Equal("refused.example.test", Str(fail.GetProperty("remote"), "host"));
        var row = r.Summary.GetProperty("rows").EnumerateArray().Single(x => Str(x, "proto") == "tcp");
        Assert.Equal("refused.example.test", Str(row.GetProperty("endpoint"), "host"));
        Assert.Contains("refused.example.test", r.Stderr); // the summary table's HOST column
    }

    /// <summary>
    /// A SYN that a firewall drops gets no answer: the program's own timeout closes the socket while connect() is in
    /// progress. That attempt is a conn.fail (EINPROGRESS), and check counts it, instead of vanishing with the socket.
    /// </summary>
    [SkippableFact]
    public async Task ConnectClosedBeforeAnyAnswer_IsAFailedAttempt_ThatCheckCounts()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "nft");
        int dropped = ServerProcess.FreeTcpPort();
        string table = $"tattle_test_drop_{dropped}";
        Assert.Equal(0, Programs.Run("nft", "add", "table", "inet", table).ExitCode);
        try
        {
            Assert.Equal(0, Programs.Run("nft", "add", "chain", "inet", table, "in", "{ type filter hook input priority 0; }").ExitCode);
            Assert.Equal(0, Programs.Run("nft", "add", "rule", "inet", table, "in", "ip", "daddr", "127.0.0.1", "tcp", "dport", dropped.ToString(), "drop").ExitCode);
            string client = $"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {dropped}), timeout=0.5)\nexcept OSError as e:\n    print(type(e).__name__)";
            var r = await TattleCli.RunAsync(["run", "--", Py.Exe, "-c", client]);
            output.WriteLine(r.ToString());
            Assert.Contains("timeout", r.Stdout, StringComparison.OrdinalIgnoreCase); // the oracle: Python's own error
            var fail = Assert.Single(r.OfType("conn.fail"), f => Str(f, "proto") == "tcp");
            Assert.Equal(("EINPROGRESS", "127.0.0.1", dropped), (Str(fail, "error"), Str(fail.GetProperty("remote"), "addr"), fail.GetProperty("remote").GetProperty("port").GetInt32()));
            Assert.DoesNotContain(r.OfType("conn.open"), o => Str(o, "proto") == "tcp");
            Assert.Contains($"127.0.0.1:{dropped} EINPROGRESS (closed before any answer)", r.Stderr);

            var check = await TattleCli.RunAsync(["check", "-q", "--allow", "127.0.0.1:1", "--", Py.Exe, "-c", client], json: false);
            output.WriteLine(check.ToString());
            Assert.Equal(3, check.ExitCode);
            Assert.Contains($"-> tcp 127.0.0.1:{dropped} (no name), 1 attempt, EINPROGRESS×1", check.Stderr);
        }
        finally
        {
            Programs.Run("nft", "delete", "table", "inet", table);
        }
    }
}
