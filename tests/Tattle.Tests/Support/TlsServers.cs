namespace Tattle.Tests.Support;

/// <summary>A self-signed certificate for "localhost" (openssl req), written into a directory.</summary>
public sealed record TestCertificate(string CertPath, string KeyPath)
{
    public static TestCertificate CreateIn(string directory)
    {
        var cert = new TestCertificate(Path.Combine(directory, "cert.pem"), Path.Combine(directory, "key.pem"));
        var r = Programs.Run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-keyout", cert.KeyPath, "-out", cert.CertPath);
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl req failed: {r.Stderr}");
        }
        return cert;
    }
}

/// <summary>TLS servers on 127.0.0.1 for the TLS plaintext tests, started untraced.</summary>
public static class TlsServers
{
    /// <summary>`openssl s_server -www`: answers every GET with an HTTP/1.0 200 status page.</summary>
    public static ServerProcess OpenSslWww()
    {
        var dir = Directory.CreateTempSubdirectory("tattle-tls-").FullName;
        var cert = TestCertificate.CreateIn(dir);
        int port = ServerProcess.FreeTcpPort();
        return ServerProcess.Start("openssl", ["s_server", "-accept", $"127.0.0.1:{port}", "-cert", cert.CertPath, "-key", cert.KeyPath, "-www", "-quiet"], port, dir);
    }
}

/// <summary>tests/HttpsClient: a .NET HttpClient that GETs its arguments (certificates not checked), built with the tests.</summary>
public static class DotnetHttpsClient
{
    public static string Dll { get; } = DotnetTestProgram.Find("HttpsClient");

    /// <summary>The command line that GETs <paramref name="url"/>.</summary>
    public static string[] Command(string url) => ["dotnet", Dll, url];
}
