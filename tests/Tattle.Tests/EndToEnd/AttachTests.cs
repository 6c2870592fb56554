using System.Diagnostics;
using System.Text.Json;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>`tattle attach` on a server that already holds connections.</summary>
[Collection("bpf")]
public sealed class AttachTests(ITestOutputHelper output)
{
    private static string Str(JsonElement r, string name) => r.GetProperty(name).GetString()!;

    [SkippableFact]
    public async Task SigtermWhileTheProgramsLoad_IsAStopNotADeath()
    {
        Requires.RootAndBpf(output);
        using var web = ServerProcess.HttpServer();
        // The fallback build takes the verifier about a second here (more on an older kernel): the signal lands
        // inside the load, before any trace loop runs.
        using var tattle = TattleCli.Start(["attach", "-p", $"{web.Pid}", "--bpf-variant", "fallback"]);
        await Task.Delay(150);
        var r = await tattle.StopAsync();
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Single(r.OfType("summary"));
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    [SkippableFact]
    public async Task Attach_ReportsExistingConnectionsAndNewTraffic()
    {
        Requires.RootAndBpf(output);
        // A server holding one accepted connection from a client that is not traced; after "go" appears in a
        // file the client sends 5 bytes over the existing connection and the server answers with 7.
        using var server = ServerProcess.Python("""
            import socket, os, time, threading
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0)); s.listen()
            port = s.getsockname()[1]
            open("port", "w").write(str(port))
            def client():
                c = socket.create_connection(("127.0.0.1", port))
                while not os.path.exists("go"): time.sleep(0.02)
                c.sendall(b"hello"); c.recv(100); time.sleep(0.3); c.close()
            threading.Thread(target=client, daemon=True).start()
            conn, _ = s.accept()
            print("ready", flush=True)
            data = conn.recv(100)
            conn.sendall(b"goodbye")
            time.sleep(0.5)
            conn.close()
            time.sleep(60)
            """);
        int port = int.Parse(File.ReadAllText(Path.Combine(server.Directory, "port")));
        var jsonPath = Path.Combine(server.Directory, "out.jsonl");
        using var tattle = Process.Start(TattleCli.StartInfo(["attach", "-p", server.Pid.ToString(), "--duration", "4", "--json", jsonPath]))!;
        var stderr = tattle.StandardError.ReadToEndAsync();
        // The traffic starts once tattle has attached (its start-up takes seconds on a loaded machine).
        await TattleCli.WaitForRecordsAsync(tattle, jsonPath, "process.start", 1, stderr);
        File.WriteAllText(Path.Combine(server.Directory, "go"), "");
        await tattle.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine(await stderr);
        Assert.Equal(0, tattle.ExitCode);
        var records = TattleCli.ReadJsonLines(jsonPath);

        var attached = records.Single(r => Str(r, "type") == "process.start");
        Assert.True(attached.GetProperty("existing").GetBoolean());
        Assert.Equal(server.Pid, attached.GetProperty("pid").GetInt32());

        var listen = records.Single(r => Str(r, "type") == "listen");
        Assert.Equal(port, listen.GetProperty("local").GetProperty("port").GetInt32());
        Assert.True(listen.GetProperty("existing").GetBoolean());

        // The client thread lives in the same process: both ends of the connection are existing sockets.
        var opens = records.Where(r => Str(r, "type") == "conn.open" && Str(r, "proto") == "tcp").ToList();
        var serverSide = opens.Single(o => o.GetProperty("local").GetProperty("port").GetInt32() == port);
        Assert.True(serverSide.GetProperty("existing").GetBoolean());
        Assert.Equal("server", Str(serverSide, "role"));
        var clientSide = opens.Single(o => o.GetProperty("remote").GetProperty("port").GetInt32() == port);
        Assert.Equal("client", Str(clientSide, "role"));

        var close = records.Single(r => Str(r, "type") == "conn.close" && Str(r, "conn") == Str(serverSide, "conn"));
        Assert.Equal(7, close.GetProperty("bytes_sent").GetInt64());
        Assert.Equal(5, close.GetProperty("bytes_recv").GetInt64());
        var summary = records.Single(r => Str(r, "type") == "summary");
        Assert.Equal(0, summary.GetProperty("lost").GetInt64());
    }

    [SkippableFact]
    public async Task AttachByComm_TracesTheRunningProcessAndOnesStartedLater()
    {
        Requires.RootAndBpf(output);
        using var web = ServerProcess.HttpServer();
        var dir = Directory.CreateTempSubdirectory("tattle-comm-").FullName;
        var probe = Py.Named(dir, "tattle-probe");
        var go = Path.Combine(dir, "go");
        string script = $"import urllib.request, os, time\nwhile not os.path.exists('{go}'): time.sleep(0.02)\n"
            + $"urllib.request.urlopen('http://127.0.0.1:{web.Port}/index.html').read()";
        using var before = Process.Start(probe, ["-c", script]);
        // Readiness, not fixed sleeps (a loaded machine, or the fallback build's slower load, outlasts them): the
        // first process runs under its name, then tattle has written its start, which comes after the kernel's
        // name filter is in place.
        await Until(() => File.Exists($"/proc/{before.Id}/comm") && File.ReadAllText($"/proc/{before.Id}/comm").Trim() == "tattle-probe", "the first process named");
        var jsonPath = Path.Combine(dir, "out.jsonl");
        using var tattle = Process.Start(TattleCli.StartInfo(["attach", "--comm", "tattle-probe", "--duration", "6", "--json", jsonPath]))!;
        var stderr = tattle.StandardError.ReadToEndAsync();
        await Until(() => File.Exists(jsonPath) && ReadShared(jsonPath).Contains("\"process.start\"", StringComparison.Ordinal), "tattle attached");
        File.WriteAllText(go, "");
        using var after = Process.Start(probe, ["-c", script]);
        await before.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await after.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await tattle.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine(await stderr);
        Assert.Equal(0, tattle.ExitCode);
        var records = TattleCli.ReadJsonLines(jsonPath);
        var starts = records.Where(r => Str(r, "type") == "process.start").ToDictionary(r => r.GetProperty("pid").GetInt32());
        Assert.True(starts[before.Id].GetProperty("existing").GetBoolean());
        Assert.False(starts[after.Id].GetProperty("existing").GetBoolean());
        foreach (int pid in (int[])[before.Id, after.Id])
        {
            Assert.Contains(records, r => Str(r, "type") == "conn.open" && r.GetProperty("pid").GetInt32() == pid
                && r.GetProperty("remote").GetProperty("port").GetInt32() == web.Port);
        }
        Directory.Delete(dir, true);
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    private static string ReadShared(string path)
    {
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        return reader.ReadToEnd();
    }

    [SkippableFact]
    public async Task Attach_ToAMissingPid_IsOneClearLine()
    {
        Requires.RootAndBpf(output);
        var r = await TattleCli.RunAsync(["attach", "-p", "999999"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("tattle: no such process: 999999", r.Stderr.Trim());
    }
}
