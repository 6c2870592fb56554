using System.Text.Json;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// Servers under connection churn (ab, 20 at once, no keep-alive): every accepted connection opened once with its
/// addresses, never taken for one that existed before tracing; every exchange whole, line for line with the
/// server's own log. Several rounds each, since the races these catch showed up once in ten runs.
/// </summary>
[Collection("bpf")]
public sealed class ChurnTests(ITestOutputHelper output)
{
    private const int Requests = 300;
    private const int Concurrency = 20;

    private static string Str(JsonElement r, string name) => r.GetProperty(name).GetString()!;

    private static string Line(JsonElement h) =>
        $"{Str(h, "method")} {Str(h, "path")} {(h.GetProperty("status").ValueKind == JsonValueKind.Null ? "null" : h.GetProperty("status").GetInt32())}";

    [SkippableFact]
    public async Task NginxWorker_Attached_UnderChurn_OneOpenPerAcceptEveryExchangeWhole()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "nginx");
        Requires.Program(output, "ab");
        for (int round = 0; round < 4; round++)
        {
            await NginxRound(attachToWorker: true);
        }
    }

    [SkippableFact]
    public async Task NginxMaster_Attached_UnderChurn_OneOpenPerAcceptEveryExchangeWhole()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "nginx");
        Requires.Program(output, "ab");
        for (int round = 0; round < 2; round++)
        {
            await NginxRound(attachToWorker: false);
        }
    }

    [SkippableFact]
    public async Task ThreadedPythonServer_Run_UnderChurn_OneOpenPerAcceptEveryExchangeWhole()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "ab");
        for (int round = 0; round < 2; round++)
        {
            await PythonRound();
        }
    }

    private async Task NginxRound(bool attachToWorker)
    {
        using var site = new NginxSite();
        using var nginx = ServerProcess.Start("nginx", site.Command[1..], site.Port, site.Directory);
        int worker = WaitForChild(nginx.Pid);
        long acceptedBefore = site.Accepts();
        using var tattle = TattleCli.Start(["attach", "-q", "-p", (attachToWorker ? worker : nginx.Pid).ToString()]);
        await tattle.WaitForRecordsAsync("process.start", attachToWorker ? 1 : 2);
        var ab = Programs.Run("ab", "-q", "-n", Requests.ToString(), "-c", Concurrency.ToString(), site.Url("/a.txt"));
        Assert.Contains($"Complete requests:      {Requests}", ab.Stdout);
        await Task.Delay(300);
        var r = await tattle.StopAsync();
        long accepted = site.Accepts() - acceptedBefore - 1; // the second count's own connection came after tracing

        AssertWholeAndOnce(r, site.Port, site.AccessLog(), accepted);
    }

    private async Task PythonRound()
    {
        // A threaded server (a thread per connection: close() on one thread races accept() on another) that logs
        // "METHOD PATH STATUS" per request and counts its accepts, written when SIGTERM ends it.
        var dir = Directory.CreateTempSubdirectory("tattle-churn-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "a.txt"), "alpha\n");
            File.WriteAllText(Path.Combine(dir, "server.py"), """
                import http.server, os, signal, sys, threading
                lock = threading.Lock()
                log = open("access.log", "a", buffering=1)
                class Server(http.server.ThreadingHTTPServer):
                    accepted = 0
                    def get_request(self):
                        r = super().get_request()
                        Server.accepted += 1
                        return r
                class Handler(http.server.SimpleHTTPRequestHandler):
                    def log_message(self, fmt, *args):
                        with lock:
                            log.write("%s %s %s\n" % (self.command, self.path, args[1]))
                srv = Server(("127.0.0.1", int(sys.argv[1])), Handler)
                def stop(*_):
                    open("accepted", "w").write(str(Server.accepted))
                    os._exit(0)
                signal.signal(signal.SIGTERM, stop)
                srv.serve_forever()
                """);
            int port = ServerProcess.FreeTcpPort();
            using var tattle = TattleCli.Start(["run", "-q", "--", "sh", "-c", $"cd {dir} && exec {Py.Exe} server.py {port}"]);
            ServerProcess.WaitForTcp(port); // a traced connection too, counted by the server like the others
            var ab = Programs.Run("ab", "-q", "-n", Requests.ToString(), "-c", Concurrency.ToString(), $"http://127.0.0.1:{port}/a.txt");
            Assert.Contains($"Complete requests:      {Requests}", ab.Stdout);
            await Task.Delay(300);
            var r = await tattle.StopAsync();
            long accepted = long.Parse(File.ReadAllText(Path.Combine(dir, "accepted")));
            AssertWholeAndOnce(r, port, File.ReadAllLines(Path.Combine(dir, "access.log")), accepted);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private void AssertWholeAndOnce(TattleResult r, int port, string[] accessLog, long accepted)
    {
        output.WriteLine($"accepted {accepted}, access log {accessLog.Length} lines");
        var http = r.OfType("http").ToList();
        Assert.All(http, h => Assert.Equal("server", Str(h, "role"))); // no half exchange taken for a client's
        Assert.Equal(Requests, accessLog.Length);
        Assert.Equal(accessLog.Order(StringComparer.Ordinal), http.Select(Line).Order(StringComparer.Ordinal));

        bool Served(JsonElement c) => c.GetProperty("local") is { ValueKind: JsonValueKind.Object } l
            && l.GetProperty("port").GetInt32() == port && Str(c, "proto") == "tcp";
        var opens = r.OfType("conn.open").Where(o => Str(o, "proto") == "tcp").ToList();
        foreach (var o in opens.Where(o => o.GetProperty("existing").GetBoolean()))
        {
            output.WriteLine("existing: " + o.GetRawText());
        }
        Assert.DoesNotContain(opens, o => o.GetProperty("existing").GetBoolean()); // every one began after tracing did
        Assert.All(opens, o => Assert.Equal(JsonValueKind.Object, o.GetProperty("remote").ValueKind));
        var served = opens.Where(Served).ToList();
        Assert.Equal(accepted, served.Count);
        Assert.Equal(served.Count, served.Select(o => Str(o, "conn")).Distinct().Count());
        Assert.Equal(served.Count, r.OfType("conn.close").Count(Served));
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    private static int WaitForChild(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var children = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (children.Length > 0)
            {
                return int.Parse(children[0]);
            }
            Thread.Sleep(20);
        }
        throw new TimeoutException($"nginx {pid} started no worker");
    }
}
