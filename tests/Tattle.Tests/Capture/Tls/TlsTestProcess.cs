using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Tattle.Capture.Tls;
using Tattle.Tests.Capture.Elf;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Tls;

/// <summary>A program kept running for a TLS discovery test, killed on dispose.</summary>
public sealed class TlsTestProcess : IDisposable
{
    private readonly Process _process;
    private readonly TcpListener? _listener;
    private Socket? _accepted;

    private TlsTestProcess(Process process, TcpListener? listener)
    {
        _process = process;
        _listener = listener;
    }

    public int Pid => _process.Id;

    /// <summary>python3 with the ssl module (and so libssl.so.3) loaded.</summary>
    public static TlsTestProcess Python() =>
        StartAndWaitForLine(Py.Exe, ["-c", "import ssl, time; print('ready', flush=True); time.sleep(30)"]);

    /// <summary>node (OpenSSL linked in statically), once its event loop runs.</summary>
    public static TlsTestProcess Node() =>
        StartAndWaitForLine(ElfFileTests.Node, ["-e", "console.log('ready'); setTimeout(() => {}, 30000)"]);

    /// <summary>`sleep 30`: libc only.</summary>
    public static TlsTestProcess Sleep()
    {
        var p = StartAndWaitForLine("/bin/sh", ["-c", "echo ready; exec sleep 30"]);
        // The shell prints "ready" before it execs: until it has, /proc shows sh (its name, its libraries).
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (File.ReadAllText($"/proc/{p.Pid}/comm") != "sleep\n")
        {
            Assert.True(DateTime.UtcNow < deadline, "sh did not exec sleep");
            Thread.Sleep(5);
        }
        return p;
    }

    /// <summary>wget (GnuTLS on Debian) blocked on a listener that accepts and never answers.</summary>
    public static TlsTestProcess Wget()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var psi = new ProcessStartInfo("wget", ["-q", "-O", "/dev/null", "--tries=1", "--timeout=20", $"http://127.0.0.1:{port}/"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var p = new TlsTestProcess(Process.Start(psi)!, listener);
        // Once it connects, the dynamic loader is long done: every library it links is mapped. The accepted socket is
        // kept open (never answered) so wget stays blocked on it.
        var accepted = listener.AcceptSocketAsync();
        Assert.True(accepted.Wait(TimeSpan.FromSeconds(20)), "wget did not connect");
        p._accepted = accepted.Result;
        return p;
    }

    /// <summary>Asserts that each function of the target has the offset readelf's symbols and segments give.</summary>
    public static void AssertOffsetsMatchReadelf(TlsProbeTarget target)
    {
        var oracle = ReadElfOracle.Of(target.Path);
        Assert.NotEmpty(target.Functions);
        foreach (var f in target.Functions)
        {
            var expected = oracle.Function(f.Name);
            Assert.NotNull(expected);
            Assert.Equal(expected.Value, f.Address);
            Assert.Equal(oracle.FileOffset(expected.Value), f.FileOffset);
        }
        Assert.Equal(oracle.BuildId, target.BuildId);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
        _accepted?.Dispose();
        _listener?.Dispose();
    }

    private static TlsTestProcess StartAndWaitForLine(string program, string[] args)
    {
        var psi = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        var p = new TlsTestProcess(Process.Start(psi)!, null);
        var line = p._process.StandardOutput.ReadLineAsync();
        Assert.True(line.Wait(TimeSpan.FromSeconds(20)) && line.Result == "ready", $"{program} did not start");
        return p;
    }
}
