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
}
