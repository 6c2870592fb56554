using System.Text.Json;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// A connection's byte counts are the kernel's, whatever the TLS probes read: conn.close says what TCP carried each
/// way, as tcpdump saw it on the wire (by TCP's sequence numbers), for clients of OpenSSL, GnuTLS, node's OpenSSL
/// and .NET's, with the probes and without.
/// </summary>
[Collection("bpf")]
public sealed class TlsByteCountTests(ITestOutputHelper output)
{
    public static TheoryData<string, bool> Cases => new()
    {
        { "curl", true }, { "wget", true }, { "python", true }, { "node", true }, { "dotnet", true },
        { "curl", false }, { "wget", false },
    };

    private static string[] Client(string client, string url) => client switch
    {
        "curl" => ["curl", "-sk", "-o", "/dev/null", url],
        "wget" => ["wget", "-q", "--no-check-certificate", "-O", "/dev/null", url],
        "python" => [Py.Exe, "-c", $"import ssl, urllib.request as u; print(len(u.urlopen('{url}', context=ssl._create_unverified_context()).read()))"],
        "node" => ["node", "-e", $"require('https').get('{url}', {{rejectUnauthorized: false}}, r => {{ r.resume(); }})"],
        "dotnet" => DotnetHttpsClient.Command(url),
        _ => throw new ArgumentException(client),
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public async Task ConnClose_CountsWhatTcpCarried(string client, bool tls)
    {
        string program = client == "python" ? "python3" : client;
        Requires.RootAndBpf(output);
        Requires.Program(output, "nginx");
        Requires.Program(output, program);
        Requires.Program(output, "tcpdump");
        Requires.Program(output, "tshark");
        using var site = new NginxSite(sendfile: false, tls: true);
        using var nginx = ServerProcess.Start("nginx", site.Command[1..], site.TlsPort, site.Directory);
        string pcap = Path.Combine(site.Directory, "wire.pcap");
        using (var dump = TcpdumpProcess.Start($"tcp port {site.TlsPort}", pcap, output))
        {
            string[] options = tls ? ["run", "-q"] : ["run", "-q", "--no-tls"];
            var r = await TattleCli.RunAsync([.. options, "--", .. Client(client, site.TlsUrl("/big.bin"))]);
            output.WriteLine(r.ToString());
            Assert.Equal(0, r.ExitCode);
            dump.StopAndCount();

            var close = r.OfType("conn.close").Single(c => Str(c, "proto") == "tcp"
                && c.GetProperty("remote").GetProperty("port").GetInt32() == site.TlsPort);
            int localPort = close.GetProperty("local").GetProperty("port").GetInt32();
            var (sent, received) = TcpdumpProcess.PayloadBytes(pcap, localPort);
            output.WriteLine($"wire: sent {sent}, received {received}; tattle: {close.GetRawText()}");
            Assert.True(received > 5 << 20, "the whole 5 MB file went over the wire");
            Assert.Equal(sent, close.GetProperty("bytes_sent").GetInt64());
            Assert.Equal(received, close.GetProperty("bytes_recv").GetInt64());
            if (tls)
            {
                Assert.Contains(r.OfType("http"), h => IsTrue(h, "tls") && Str(h, "path") == "/big.bin");
            }
        }
    }

    private static bool IsTrue(JsonElement r, string name) => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
}
