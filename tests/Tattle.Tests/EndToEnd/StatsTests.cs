using System.Text.Json;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>--stats: no record per request; the summary's routes count every request the client made.</summary>
[Collection("bpf")]
public sealed class StatsTests(ITestOutputHelper output)
{
    private static string Str(JsonElement r, string name) => r.GetProperty(name).GetString()!;

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Stats_CountsEveryRequestPerRoute_WithStatusClasses_AndWritesNoRequestRecords(bool noSyscalls)
    {
        Requires.RootAndBpf(output);
        using var server = ServerProcess.Python("""
            import http.server
            class H(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                def reply(self, status):
                    n = int(self.headers.get("Content-Length") or 0)
                    self.rfile.read(n)
                    self.send_response(status); self.send_header("Content-Length", "2"); self.end_headers()
                    self.wfile.write(b"ok")
                def do_GET(self): self.reply(200 if self.path.startswith("/users/") else 404)
                def do_POST(self): self.reply(201)
                def log_message(self, *a): pass
            s = http.server.HTTPServer(("127.0.0.1", 0), H)
            open("port", "w").write(str(s.server_address[1]))
            print("ready", flush=True)
            s.serve_forever()
            """);
        int port = int.Parse(File.ReadAllText(Path.Combine(server.Directory, "port")));
        string client = $$"""
            import http.client
            h = http.client.HTTPConnection("127.0.0.1", {{port}})
            def call(method, path, body=None):
                h.request(method, path, body=body); r = h.getresponse(); r.read(); return r.status
            for i in range(20): assert call("GET", f"/users/{i + 100}?expand=1") == 200
            for i in range(5): assert call("GET", "/missing") == 404
            for i in range(3): assert call("POST", "/users", body=b"{}") == 201
            h.close()
            """;
        string[] args = ["run", "--stats", .. noSyscalls ? (string[])["--no-syscalls", "--bpf-variant", "fast"] : [], "--", Py.Exe, "-c", client];
        var r = await TattleCli.RunAsync(args);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Empty(r.OfType("http"));

        var routes = r.Summary.GetProperty("routes").EnumerateArray()
            .Where(x => x.GetProperty("endpoint").GetProperty("port").GetInt32() == port).ToList();
        var users = routes.Single(x => Str(x, "operation") == "GET" && Str(x, "route") == "/users/{id}");
        Assert.Equal(20, users.GetProperty("requests").GetInt64());
        Assert.Equal(20, users.GetProperty("statuses").GetProperty("2xx").GetInt64());
        Assert.Equal("client", Str(users, "role"));
        Assert.Equal("http", Str(users, "protocol"));
        Assert.True(users.GetProperty("p50_ms").GetDouble() > 0);
        Assert.True(users.GetProperty("max_ms").GetDouble() >= users.GetProperty("p99_ms").GetDouble());
        Assert.True(users.GetProperty("response_bytes").GetInt64() > 20 * 2);
        var missing = routes.Single(x => Str(x, "route") == "/missing");
        Assert.Equal(5, missing.GetProperty("statuses").GetProperty("4xx").GetInt64());
        var post = routes.Single(x => Str(x, "operation") == "POST");
        Assert.Equal(("/users", 3L), (Str(post, "route"), post.GetProperty("statuses").GetProperty("2xx").GetInt64()));
        Assert.Equal(28, routes.Sum(x => x.GetProperty("requests").GetInt64()));
        Assert.Equal(0, r.Summary.GetProperty("routes_folded").GetInt64());
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
        Assert.Contains("/users/{id}", r.Stderr); // the route table under the summary
    }

    [SkippableFact]
    public async Task StatsWithData_IsRefused()
    {
        var r = await TattleCli.RunAsync(["run", "--stats", "--data", "--", "true"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--stats writes no record per request", r.Stderr);
    }
}
