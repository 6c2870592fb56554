using System.Globalization;
using System.Text.RegularExpressions;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>--live-rate: a fast client's exchanges are sampled in the live view, the rest counted there, and all written to JSON.</summary>
[Collection("bpf")]
public sealed partial class LiveRateTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"tattle\[0\] folded (\d+) lines in [0-9.]+ s \((.*)\): over --live-rate 20$", RegexOptions.Multiline)]
    private static partial Regex FoldLine();

    [GeneratedRegex(@"\bhttp (\d+)")]
    private static partial Regex FoldedHttp();

    [SkippableFact]
    public async Task AFastClient_IsSampledInTheLiveView_AndEveryExchangeIsCountedAndWritten()
    {
        Requires.RootAndBpf(output);
        using var server = ServerProcess.Python("""
            import http.server
            class H(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                disable_nagle_algorithm = True  # the body's own write would wait for a delayed ACK: 40 ms a request
                def do_GET(self):
                    self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
                def log_message(self, *a): pass
            s = http.server.HTTPServer(("127.0.0.1", 0), H)
            open("port", "w").write(str(s.server_address[1]))
            print("ready", flush=True)
            s.serve_forever()
            """);
        int port = int.Parse(File.ReadAllText(Path.Combine(server.Directory, "port")), CultureInfo.InvariantCulture);
        string client = $$"""
            import http.client
            h = http.client.HTTPConnection("127.0.0.1", {{port}})
            for i in range(400):
                h.request("GET", f"/r/{i}"); r = h.getresponse(); r.read(); assert r.status == 200
            h.close()
            """;
        var r = await TattleCli.RunAsync(["run", "--live-rate", "20", "--", Py.Exe, "-c", client]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(400, r.OfType("http").Count(x => x.GetProperty("role").GetString() == "client"));

        int shown = r.Stderr.Split('\n').Count(l => l.Contains(" http GET ", StringComparison.Ordinal) && l.Contains($":{port}/r/", StringComparison.Ordinal));
        var folds = FoldLine().Matches(r.Stderr);
        Assert.NotEmpty(folds);
        long foldedHttp = folds.Sum(m => FoldedHttp().Match(m.Groups[2].Value) is { Success: true } h ? long.Parse(h.Groups[1].Value, CultureInfo.InvariantCulture) : 0);
        // The bucket holds 5 s at 20 lines a second: about 100 lines show, and every other exchange is counted.
        Assert.InRange(shown, 20, 200);
        Assert.Equal(400, shown + foldedHttp);
        long total = folds.Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.Contains($"live view: {total} lines folded at --live-rate 20", r.Stderr);
    }

    [SkippableFact]
    public async Task ANegativeRate_IsRefusedInOneLine()
    {
        var r = await TattleCli.RunAsync(["run", "--live-rate", "-1", "--", "true"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--live-rate", r.Stderr);
    }
}
