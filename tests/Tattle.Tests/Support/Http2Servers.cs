namespace Tattle.Tests.Support;

/// <summary>HTTP/2 servers on 127.0.0.1 for the end-to-end tests, started untraced.</summary>
public static class Http2Servers
{
    /// <summary>The body nghttpd serves as /x.</summary>
    public const int FileSize = 5000;

    /// <summary>testdata/http2/h2peers.py: the python-h2 and grpcio peers the HTTP/2 captures were recorded with.</summary>
    public static string Peers => Path.Combine(AppContext.BaseDirectory, "testdata", "http2", "h2peers.py");

    /// <summary>testdata/http2/node_h2.js: node's http2 server and clients.</summary>
    public static string NodeScript => Path.Combine(AppContext.BaseDirectory, "testdata", "http2", "node_h2.js");

    /// <summary>
    /// nghttpd serving a directory that holds /x (<see cref="FileSize"/> bytes): h2c with prior knowledge, or with
    /// <paramref name="tls"/> h2 over TLS (ALPN) with a self-signed certificate.
    /// </summary>
    public static ServerProcess Nghttpd(bool tls = false)
    {
        var dir = Directory.CreateTempSubdirectory("tattle-h2-").FullName;
        var www = Directory.CreateDirectory(Path.Combine(dir, "www")).FullName;
        File.WriteAllBytes(Path.Combine(www, "x"), Enumerable.Range(0, FileSize).Select(i => (byte)(i * 13)).ToArray());
        int port = ServerProcess.FreeTcpPort();
        string[] args = ["-d", www, port.ToString()];
        if (tls)
        {
            var cert = TestCertificate.CreateIn(dir);
            args = [.. args, cert.KeyPath, cert.CertPath];
        }
        else
        {
            args = ["--no-tls", .. args];
        }
        return ServerProcess.Start("nghttpd", args, port, dir);
    }

    /// <summary>h2peers.py's python-h2 server: prior knowledge or Upgrade: h2c; /n/N is answered with x-n: N.</summary>
    public static ServerProcess PythonH2() => ServerProcess.AnnouncingPort(Py.Exe, ["-u", Peers, "h2-server"]);

    /// <summary>h2peers.py's grpcio server of demo.v1.Items (Echo, Missing, Count, …).</summary>
    public static ServerProcess Grpc() => ServerProcess.AnnouncingPort(Py.Exe, ["-u", Peers, "grpc-server"]);
}
