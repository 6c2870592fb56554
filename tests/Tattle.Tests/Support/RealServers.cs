using System.Diagnostics;

namespace Tattle.Tests.Support;

/// <summary>
/// nginx with a private configuration in a temp directory: one worker, an access log whose lines are
/// "METHOD URI STATUS" (the oracle the HTTP parser is compared with), gzip on for text (so responses are chunked),
/// and a 5 MB file.
/// </summary>
public sealed class NginxSite : IDisposable
{
    public NginxSite(bool sendfile = true, bool tls = false)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("tattle-nginx-").FullName;
        int[] ports = ServerProcess.FreeTcpPorts(2);
        Port = ports[0];
        TlsPort = tls ? ports[1] : 0;
        var cert = tls ? TestCertificate.CreateIn(Directory) : null;
        string tlsServer = cert is null ? "" : $$"""
            server {
                    listen 127.0.0.1:{{TlsPort}} ssl;
                    ssl_certificate {{cert.CertPath}};
                    ssl_certificate_key {{cert.KeyPath}};
                    root {{Path.Combine(Directory, "www")}};
                    location = /echo { return 200 "echo\n"; }
                }
            """;
        var www = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "www")).FullName;
        File.WriteAllText(Path.Combine(www, "a.txt"), "alpha\n");
        File.WriteAllText(Path.Combine(www, "b.txt"), "bravo\n");
        File.WriteAllText(Path.Combine(www, "text.txt"), string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i} of a compressible text\n")));
        File.WriteAllBytes(Path.Combine(www, "big.bin"), Enumerable.Range(0, 5 << 20).Select(i => (byte)(i * 31 + (i >> 12))).ToArray());
        string d = Directory;
        File.WriteAllText(ConfigPath, $$"""
            user root;
            worker_processes 1;
            daemon off;
            master_process on;
            pid {{d}}/nginx.pid;
            error_log {{d}}/error.log;
            events { worker_connections 256; }
            http {
                log_format oracle '$request_method $request_uri $status';
                access_log {{d}}/access.log oracle;
                client_body_temp_path {{d}}/body;
                proxy_temp_path {{d}}/proxy;
                fastcgi_temp_path {{d}}/fastcgi;
                uwsgi_temp_path {{d}}/uwsgi;
                scgi_temp_path {{d}}/scgi;
                keepalive_requests 1000;
                if_modified_since before;
                sendfile {{(sendfile ? "on" : "off")}};
                gzip on;
                gzip_min_length 1;
                gzip_types text/plain;
                types { text/plain txt; application/octet-stream bin; }
                server {
                    listen 127.0.0.1:{{Port}};
                    root {{www}};
                    location = /echo { return 200 "echo\n"; }
                    location = /status { stub_status; access_log off; }
                }
                {{tlsServer}}
            }
            """);
    }

    public string Directory { get; }

    public int Port { get; }

    /// <summary>The HTTPS port (self-signed certificate for localhost), or 0 without TLS.</summary>
    public int TlsPort { get; }

    public string TlsUrl(string path) => $"https://localhost:{TlsPort}{path}";

    public string ConfigPath => Path.Combine(Directory, "nginx.conf");

    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    /// <summary>The command that runs this nginx in the foreground (for tattle run).</summary>
    public string[] Command => ["nginx", "-c", ConfigPath, "-e", Path.Combine(Directory, "error.log")];

    /// <summary>
    /// Connections nginx has accepted since it started (stub_status), read over a connection of its own, which
    /// the count includes.
    /// </summary>
    public long Accepts()
    {
        using var client = new System.Net.Http.HttpClient();
        var text = client.GetStringAsync(Url("/status")).GetAwaiter().GetResult();
        // "Active connections: 1 \nserver accepts handled requests\n 12 12 30 \n…"
        var counters = text.Split('\n')[2].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(counters[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The access log's lines: "METHOD URI STATUS".</summary>
    public string[] AccessLog()
    {
        var path = Path.Combine(Directory, "access.log");
        return File.Exists(path) ? File.ReadAllLines(path) : [];
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Starts helper programs the protocol tests drive (curl, dig), untraced, and waits for them.</summary>
public static class Programs
{
    public static (int ExitCode, string Stdout, string Stderr) Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{exe} {string.Join(' ', args)} did not finish");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>dnsmasq answering authoritative test names on 127.0.0.1:PORT (UDP and TCP), no upstream.</summary>
    public static ServerProcess Dnsmasq(int port, string listen = "127.0.0.1", params string[] extra) => DnsmasqIn(null, port, listen, extra);

    /// <summary>
    /// The same dnsmasq, inside network namespace <paramref name="netns"/> when it is not null. (A name of its own:
    /// as an overload, Dnsmasq(port, listen, "--address=…") would bind the option to the namespace parameter.)
    /// </summary>
    public static ServerProcess DnsmasqIn(string? netns, int port, string listen, params string[] extra)
    {
        var dir = Directory.CreateTempSubdirectory("tattle-dns-").FullName;
        string[] args =
        [
            "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll", "--user=root",
            $"--listen-address={listen}", "--bind-interfaces", $"--port={port}", $"--pid-file={dir}/dnsmasq.pid",
            "--address=/example.test/10.1.2.3", "--address=/example.test/fd00::3",
            "--cname=alias.example.test,example.test",
            "--txt-record=example.test,\"hello from dnsmasq\"",
            "--srv-host=_http._tcp.example.test,example.test,8080,0,5",
            .. extra,
        ];
        return netns is null ? ServerProcess.Start("dnsmasq", args, port, dir, listen)
            : ServerProcess.Start("ip", ["netns", "exec", netns, "dnsmasq", .. args], port, dir, listen);
    }
}
