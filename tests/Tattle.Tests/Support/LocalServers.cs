using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Tattle.Tests.Support;

/// <summary>Real servers on 127.0.0.1 for the end-to-end tests, started untraced and killed on dispose.</summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, int port, string dir)
    {
        _process = process;
        Port = port;
        Directory = dir;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public string Directory { get; }

    public static int FreeTcpPort() => FreeTcpPorts(1)[0];

    /// <summary>Distinct free ports: each is held until all are chosen, as the kernel may hand a released port out again.</summary>
    public static int[] FreeTcpPorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var l in listeners)
            {
                l.Start();
            }
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var l in listeners)
            {
                l.Stop();
            }
        }
    }

    /// <summary>
    /// `python3 -m http.server` serving a temp directory that holds index.html and big.bin, on 127.0.0.1 and a free
    /// port unless told otherwise; <paramref name="netns"/> runs it inside that network namespace (the sandbox
    /// tests' "internet").
    /// </summary>
    public static ServerProcess HttpServer(string bind = "127.0.0.1", int port = 0, string? netns = null)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("tattle-www-").FullName;
        File.WriteAllText(Path.Combine(dir, "index.html"), "<html><body>hello from tattle's test server</body></html>\n");
        File.WriteAllBytes(Path.Combine(dir, "big.bin"), Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7)).ToArray());
        port = port == 0 ? FreeTcpPort() : port;
        string[] argv = [Py.Exe, "-m", "http.server", port.ToString(), "--bind", bind];
        return Start(netns is null ? argv[0] : "ip", netns is null ? argv[1..] : ["netns", "exec", netns, .. argv], port, dir, bind);
    }

    /// <summary>Runs a Python script as a server; it must print "ready" once it listens.</summary>
    public static ServerProcess Python(string script, int port = 0)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("tattle-py-").FullName;
        var path = Path.Combine(dir, "server.py");
        File.WriteAllText(path, script);
        var psi = new ProcessStartInfo(Py.Exe, ["-u", path, port.ToString()])
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(psi)!;
        var line = process.StandardOutput.ReadLine();
        if (line != "ready")
        {
            throw new InvalidOperationException($"server did not start: {line} {process.StandardError.ReadToEnd()}");
        }
        return new ServerProcess(process, port, dir);
    }

    /// <summary>An HTTP/1.1 keep-alive server (Python's http.server) that answers every GET with 200 "ok".</summary>
    public static ServerProcess KeepAliveHttp()
    {
        int port = FreeTcpPort();
        return Python("""
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                disable_nagle_algorithm = True  # the body's own write would wait for a delayed ACK
                def do_GET(self):
                    self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
                def log_message(self, *a): pass
            s = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
            print("ready", flush=True)
            s.serve_forever()
            """, port);
    }

    /// <summary>Starts a program as an untraced server that prints the port it listens on as its first line.</summary>
    public static ServerProcess AnnouncingPort(string exe, IEnumerable<string> args)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("tattle-srv-").FullName;
        var psi = new ProcessStartInfo(exe, args)
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(psi)!;
        var line = process.StandardOutput.ReadLine();
        if (!int.TryParse(line, out int port))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{exe} did not print its port: {line} {process.StandardError.ReadToEnd()}");
        }
        return new ServerProcess(process, port, dir);
    }

    /// <summary>Starts any program as an untraced server in <paramref name="dir"/> and waits for its TCP port.</summary>
    public static ServerProcess Start(string exe, IEnumerable<string> args, int port, string dir, string host = "127.0.0.1")
    {
        var psi = new ProcessStartInfo(exe, args)
        {
            WorkingDirectory = dir,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
        };
        var process = Process.Start(psi)!;
        var server = new ServerProcess(process, port, dir);
        try
        {
            WaitForTcp(port, host, process);
        }
        catch
        {
            server.Dispose();
            throw;
        }
        return server;
    }

    /// <summary>Waits until something accepts connections on 127.0.0.1:<paramref name="port"/>.</summary>
    /// <param name="owner">The server's process: if it exits first, why (its standard error) is the exception's message.</param>
    public static void WaitForTcp(int port, string host = "127.0.0.1", Process? owner = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (owner is { HasExited: true })
            {
                throw new InvalidOperationException($"server for port {port} exited ({owner.ExitCode}): {owner.StandardError.ReadToEnd().Trim()}");
            }
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Parse(host), port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        throw new TimeoutException($"server on port {port} did not start");
    }

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, true);
        }
        catch (IOException)
        {
        }
    }
}
