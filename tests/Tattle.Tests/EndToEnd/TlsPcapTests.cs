using System.Text.Json;
using Tattle.Tests.Output.Pcapng;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>-w FILE --tls-plaintext: the plaintext of curl's HTTPS exchange as a second interface, read by the real tshark.</summary>
[Collection("bpf")]
public sealed class TlsPcapTests(ITestOutputHelper output)
{
    private static string TempPcap() => Path.Combine(Path.GetTempPath(), $"tattle-test-{Guid.NewGuid():N}.pcapng");

    [SkippableFact]
    public async Task TlsPlaintext_SyntheticInterface_IsDissectedAsHttpByTshark()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "tshark");
        Requires.Program(output, "curl");
        Requires.Program(output, "openssl");
        using var server = TlsServers.OpenSslWww();
        string pcap = TempPcap();
        // Client ports whose top bit flipped (6032-6063) are X11's to Wireshark: the flow's port must name nothing.
        var r = await TattleCli.RunAsync(["run", "-w", pcap, "--tls-plaintext", "--", "curl", "-sk", "-o", "/dev/null",
            "--local-port", "38800-38831", $"https://localhost:{server.Port}/secret-path"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        int pid = r.OfType("process.start").Single().GetProperty("pid").GetInt32();
        var conn = r.OfType("conn.open").Single(o => o.GetProperty("remote").GetProperty("port").GetInt32() == server.Port);
        string connId = Str(conn, "conn")!;
        int clientPort = conn.GetProperty("local").GetProperty("port").GetInt32();

        // The request on the synthetic interface, with the process in its comment, from the connection's addresses.
        var requests = PcapTools.TsharkFiltered(pcap, "http.request", "frame.interface_name", "http.request.uri", "frame.comment",
            "tcp.srcport", "tcp.dstport", "ip.dst");
        var request = Assert.Single(requests);
        Assert.Equal(["tattle-tls-plaintext", "/secret-path"], request[..2]);
        Assert.StartsWith($"pid={pid} comm=curl conn={connId} dir=out tls=plaintext client_port={clientPort} cmdline=", request[2]);
        Assert.InRange(int.Parse(request[3]), 61000, 65535); // above the ephemeral range: not the socket's own port
        Assert.Equal($"{server.Port}", request[4]);
        Assert.Equal("127.0.0.1", request[5]);
        var response = Assert.Single(PcapTools.TsharkFiltered(pcap, "http.response", "frame.interface_id", "http.response.code", "frame.comment"));
        Assert.Equal(["1", "200"], response[..2]);
        Assert.StartsWith($"pid={pid} comm=curl conn={connId} dir=in tls=plaintext", response[2]);

        // Follow TCP stream on the synthetic flow gives the request line; the captured flow is another stream.
        var streams = PcapTools.TsharkFields(pcap, "frame.interface_id", "tcp.stream").Select(row => (row[0], row[1])).Distinct().ToList();
        output.WriteLine(string.Join(", ", streams));
        string plainStream = Assert.Single(streams, s => s.Item1 == "1").Item2;
        Assert.DoesNotContain(streams, s => s.Item1 == "0" && s.Item2 == plainStream);
        string follow = PcapTools.Run("tshark", "-r", pcap, "-q", "-z", $"follow,tcp,ascii,{plainStream}");
        Assert.Contains("GET /secret-path HTTP/1.1", follow);
        Assert.Contains("HTTP/1.0 200 ok", follow);

        // Nothing on the synthetic interface is malformed or worth a warning, checksums checked.
        var flagged = PcapTools.TsharkFiltered(pcap, "frame.interface_id == 1 && (_ws.malformed || _ws.expert.severity >= warning"
            + " || tcp.checksum.status == 0 || ip.checksum.status == 0)", "frame.number", "_ws.expert.message");
        Assert.Empty(flagged);
        int plain = PcapTools.TsharkFiltered(pcap, "frame.interface_id == 1", "frame.number").Length;
        Assert.True(plain >= 8, $"handshake, request, response, FINs: {plain} packets");
        Assert.Matches($@": \d+ packets \(\d+ of traced processes, {plain} of TLS plaintext \(synthetic\)\)", r.Stderr);
        File.Delete(pcap);
    }

    /// <summary>
    /// tattle read of a -w --tls-plaintext file: the captured connection once, with the live run's byte counts, its
    /// plaintext's exchange on it once, and no time before the view's start (the synthetic packets are written
    /// ahead of the captured ones they decrypt).
    /// </summary>
    [SkippableFact]
    public async Task Read_OfATlsPlaintextCapture_ShowsTheConnectionOnce_WithItsExchange()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        Requires.Program(output, "openssl");
        using var server = TlsServers.OpenSslWww();
        string pcap = TempPcap();
        var live = await TattleCli.RunAsync(["run", "-w", pcap, "--tls-plaintext", "--", "curl", "-sk", "-o", "/dev/null",
            $"https://localhost:{server.Port}/read-me"]);
        output.WriteLine(live.ToString());
        Assert.Equal(0, live.ExitCode);
        var liveClose = live.OfType("conn.close").Single(c => c.GetProperty("remote").ValueKind == JsonValueKind.Object
            && c.GetProperty("remote").GetProperty("port").GetInt32() == server.Port);
        Assert.Single(live.OfType("http"));

        var read = await TattleCli.RunAsync(["read", pcap]);
        output.WriteLine(read.ToString());
        Assert.Equal(0, read.ExitCode);
        var open = Assert.Single(read.OfType("conn.open"));
        Assert.Equal(server.Port, open.GetProperty("remote").GetProperty("port").GetInt32());
        var close = Assert.Single(read.OfType("conn.close"));
        Assert.Equal(Str(open, "conn"), Str(close, "conn"));
        Assert.Equal(liveClose.GetProperty("bytes_sent").GetUInt64(), close.GetProperty("bytes_sent").GetUInt64());
        Assert.Equal(liveClose.GetProperty("bytes_recv").GetUInt64(), close.GetProperty("bytes_recv").GetUInt64());
        var http = Assert.Single(read.OfType("http"));
        Assert.Equal((Str(open, "conn"), "/read-me", 200), (Str(http, "conn"), Str(http, "path"), http.GetProperty("status").GetInt32()));
        var tcp = read.Summary.GetProperty("rows").EnumerateArray().Where(r => Str(r, "proto") == "tcp").ToList();
        Assert.Equal(1, tcp.Sum(r => r.GetProperty("connections").GetInt32()));
        // The view's times are seconds since the capture's earliest packet: none is negative.
        Assert.DoesNotMatch(@"(?m)^\s*-\d+\.\d{3} ", read.Stdout);
        File.Delete(pcap);
    }

    [Theory]
    [InlineData(new[] { "--tls-plaintext" }, "--tls-plaintext writes into the capture file: it needs -w FILE")]
    [InlineData(new[] { "-w", "/tmp/tattle-never.pcapng", "--tls-plaintext", "--no-tls" }, "--tls-plaintext needs the TLS probes, which --no-tls turns off")]
    [InlineData(new[] { "-w", "/tmp/tattle-never.pcapng", "--tls-plaintext", "--no-payload" }, "--tls-plaintext needs the TLS probes, which --no-payload turns off")]
    public async Task TlsPlaintext_BadCombination_OneLineAndExit2(string[] options, string message)
    {
        var r = await TattleCli.RunAsync(["run", .. options, "--", "true"], json: false);
        output.WriteLine(r.ToString());
        Assert.Equal(2, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(message, lines[0]);
        Assert.False(File.Exists("/tmp/tattle-never.pcapng"));
    }
}
