using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>A name a traced program resolved names the address in a later `tattle sockets`.</summary>
public class NameCacheTests(ITestOutputHelper output)
{
    // Other tests of this process open sockets during the walk: some rows (strays) have no addresses at all.
    private static bool IsSocketTo(JsonElement d, int port) =>
        d.GetProperty("record").GetString() == "socket" && d.GetProperty("remote_port").ValueKind == JsonValueKind.Number
        && d.GetProperty("remote_port").GetInt32() == port;

    [SkippableFact]
    public async Task SocketsNamesAnAddressATracedRunResolved()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "dig");
        Requires.Program(output, "dnsmasq");
        // An address no other test uses, so the name can only have come from this run's DNS answer.
        const string Address = "127.0.0.93";
        int port = ServerProcess.FreeTcpPort();
        using var dns = Programs.Dnsmasq(port, "127.0.0.1", $"--address=/held.example.test/{Address}");
        var r = await TattleCli.RunAsync(["run", "--", "dig", "@127.0.0.1", "-p", $"{port}", "+tries=1", "+time=3", "held.example.test", "A"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains(File.ReadLines(TattleCli.NameCachePath), l => l.StartsWith($"{Address}\theld.example.test\t", StringComparison.Ordinal));

        using var listener = new TcpListener(IPAddress.Parse(Address), 0);
        listener.Start();
        // From the named address too, so the accepted end's remote is an address the cache names.
        using var client = new TcpClient(new IPEndPoint(IPAddress.Parse(Address), 0));
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        using var accepted = await listener.AcceptTcpClientAsync();
        int listenPort = ((IPEndPoint)listener.LocalEndpoint).Port;

        string Sockets(params string[] extra)
        {
            var psi = TattleCli.StartInfo(["sockets", "-p", $"{Environment.ProcessId}", "-t", "--json", .. extra]);
            using var p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
            return stdout;
        }
        var rows = Sockets().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var row = rows.Single(d => IsSocketTo(d, listenPort));
        Assert.Equal(Address, row.GetProperty("remote_address").GetString());
        Assert.Equal("held.example.test", row.GetProperty("remote_host").GetString());
        // The accepted end's remote is the client, on the same address: a client is not named after what it resolved.
        var inbound = rows.Single(d => d.GetProperty("record").GetString() == "socket" && d.GetProperty("state").GetString() == "ESTABLISHED"
            && d.GetProperty("local_port").ValueKind == JsonValueKind.Number && d.GetProperty("local_port").GetInt32() == listenPort);
        Assert.Equal(Address, inbound.GetProperty("remote_address").GetString());
        Assert.Equal(JsonValueKind.Null, inbound.GetProperty("remote_host").ValueKind);
        var numeric = Sockets("-n").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Single(d => IsSocketTo(d, listenPort));
        Assert.Equal(JsonValueKind.Null, numeric.GetProperty("remote_host").ValueKind);
    }
}
