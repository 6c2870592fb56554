using System.Diagnostics;
using System.Text.Json;
using Tattle.Interop;
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
        using (var dump = await Tcpdump.StartAsync(pcap, $"tcp port {site.TlsPort}"))
        {
            string[] options = tls ? ["run", "-q"] : ["run", "-q", "--no-tls"];
            var r = await TattleCli.RunAsync([.. options, "--", .. Client(client, site.TlsUrl("/big.bin"))]);
            output.WriteLine(r.ToString());
            Assert.Equal(0, r.ExitCode);
            await Task.Delay(200);
            dump.Stop();

            var close = r.OfType("conn.close").Single(c => Str(c, "proto") == "tcp"
                && c.GetProperty("remote").GetProperty("port").GetInt32() == site.TlsPort);
            int localPort = close.GetProperty("local").GetProperty("port").GetInt32();
            var (sent, received) = Tcpdump.PayloadBytes(pcap, localPort);
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

/// <summary>tcpdump writing the loopback's packets to a file, the oracle of what went over the wire.</summary>
internal sealed class Tcpdump : IDisposable
{
    private readonly Process _process;

    private Tcpdump(Process process) => _process = process;

    public static async Task<Tcpdump> StartAsync(string path, string filter)
    {
        // Immediate mode: libpcap's default block buffering keeps the last packets in a block that SIGINT never
        // hands over, and the file would lack the end of the connection.
        var psi = new ProcessStartInfo("tcpdump", ["-i", "lo", "--immediate-mode", "-B", "65536", "-U", "-n", "-w", path, filter])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        var process = Process.Start(psi)!;
        // It says "listening on lo" once the capture is open.
        var line = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("listening on", line ?? "");
        _ = process.StandardError.ReadToEndAsync();
        return new Tcpdump(process);
    }

    /// <summary>SIGINT: tcpdump writes what it holds and exits.</summary>
    public void Stop()
    {
        if (!_process.HasExited)
        {
            Libc.Kill(_process.Id, 2);
            _process.WaitForExit(5000);
        }
    }

    /// <summary>
    /// TCP payload bytes sent from and received at <paramref name="localPort"/>, by TCP's own accounting: where the
    /// highest data segment each way ends, less the SYN's sequence number. Summing segment lengths would count a
    /// retransmission twice (a busy loopback does drop); control segments (FIN, RST) carry no data.
    /// </summary>
    public static (long Sent, long Received) PayloadBytes(string path, int localPort)
    {
        var r = Programs.Run("tshark", "-r", path, "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.len", "-e", "tcp.seq_raw", "-e", "tcp.flags.syn");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var isn = new Dictionary<bool, uint>();
        var end = new Dictionary<bool, uint>();
        foreach (var line in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            bool fromLocal = int.Parse(f[0]) == localPort;
            uint seq = uint.Parse(f[2]);
            uint len = uint.Parse(f[1]);
            if (f[3] is "1" or "True")
            {
                isn[fromLocal] = seq;
            }
            else if (len > 0 && (!end.TryGetValue(fromLocal, out uint last) || (int)(seq + len - last) > 0))
            {
                end[fromLocal] = seq + len;
            }
        }
        long Bytes(bool fromLocal) => end.TryGetValue(fromLocal, out uint e) ? e - isn[fromLocal] - 1 : 0;
        return (Bytes(true), Bytes(false));
    }

    public void Dispose()
    {
        Stop();
        _process.Dispose();
    }
}
