using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Tattle.Capture.Proc;
using Tattle.Cli.Commands;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Proc;

/// <summary>`tattle sockets` through its Run entry point and as a real process.</summary>
public class SocketsCommandTests
{
    private static readonly string Me = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    private static (int Code, string Out, string Err) Run(SocketsOptions o)
    {
        using var stdout = new MemoryStream();
        using var stderr = new StringWriter();
        int code = SocketsCommand.Run(o, stdout, stderr, NoAddressNames.Instance);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    /// <summary>
    /// A listener on a free port that /etc/services names (a fixed one may be taken), so the table shows a
    /// service name; the name is returned.
    /// </summary>
    private static Socket Listener(out string service)
    {
        Requires.FileFrom(null, "/etc/services", "netbase");
        foreach (int port in Enumerable.Range(1024, 64_000).Where(p => ServiceNames.Default.Lookup(p, "tcp") is not null))
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                s.Bind(new IPEndPoint(IPAddress.Loopback, port));
                s.Listen(1);
                service = ServiceNames.Default.Lookup(port, "tcp")!;
                return s;
            }
            catch (SocketException)
            {
                s.Dispose();
            }
        }
        throw new InvalidOperationException("every port /etc/services names is taken");
    }

    private static int PortOf(Socket s) => ((IPEndPoint)s.LocalEndPoint!).Port;

    [SkippableFact]
    public void JsonRowsCarryDocumentedFields()
    {
        using var l = Listener(out string service);
        int fd = (int)l.SafeHandle.DangerousGetHandle();
        var (code, output, err) = Run(new SocketsOptions { Pids = [Me], Json = true });
        Assert.Equal(0, code);
        Assert.Equal("", err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var docs = lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var row = Assert.Single(docs, d => d.GetProperty("record").GetString() == "socket" && d.GetProperty("fd").GetInt32() == fd);
        Assert.Equal(Environment.ProcessId, row.GetProperty("pid").GetInt32());
        Assert.Equal("tcp", row.GetProperty("protocol").GetString());
        Assert.Equal("LISTEN", row.GetProperty("state").GetString());
        Assert.Equal("127.0.0.1", row.GetProperty("local_address").GetString());
        Assert.Equal(((IPEndPoint)l.LocalEndPoint!).Port, row.GetProperty("local_port").GetInt32());
        Assert.Equal("0.0.0.0", row.GetProperty("remote_address").GetString());
        Assert.Equal(0, row.GetProperty("remote_port").GetInt32());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("local_host").ValueKind);
        Assert.Equal(TestEnv.InodeOfFd(Environment.ProcessId, fd), row.GetProperty("inode").GetUInt64());
        Assert.Equal(TestEnv.NetNsOf(Environment.ProcessId), row.GetProperty("netns").GetUInt64());
        Assert.Equal(Environment.UserName, row.GetProperty("user").GetString());
        Assert.Equal(fd, row.GetProperty("fds")[0].GetInt32());
        Assert.Equal(service, row.GetProperty("local_service").GetString());
        Assert.Equal(1, row.GetProperty("backlog").GetInt32()); // Listen(1), as ss -l's Send-Q
        Assert.Equal(0, row.GetProperty("tx_queue").GetInt32());
        string[] documented =
        [
            "record", "pid", "comm", "user", "uid", "fd", "fds", "protocol", "unix_type", "state",
            "local_address", "local_port", "local_service", "local_host",
            "remote_address", "remote_port", "remote_service", "remote_host",
            "unix_path", "unix_peer_path", "unix_peer_inode", "rx_queue", "tx_queue", "backlog", "inode",
            "netns", "netns_name", "container_id", "detail",
        ];
        Assert.Equal(documented, row.EnumerateObject().Select(p => p.Name));
        // -p also emits the process's whole fd table.
        Assert.Contains(docs, d => d.GetProperty("record").GetString() == "fd" && d.GetProperty("fd").GetInt32() == fd
            && d.GetProperty("target").GetString() == $"socket:[{row.GetProperty("inode").GetUInt64()}]");
    }

    [SkippableFact]
    public void NumericDisablesServiceNames()
    {
        using var l = Listener(out string service);
        int port = PortOf(l);
        var (_, named, _) = Run(new SocketsOptions { Pids = [Me], Tcp = true });
        var (_, numeric, _) = Run(new SocketsOptions { Pids = [Me], Tcp = true, Numeric = true });
        Assert.Contains($"127.0.0.1:{port}({service})", named);
        Assert.Contains($"127.0.0.1:{port} ", numeric);
        Assert.DoesNotContain($"({service})", numeric);
    }

    [SkippableFact]
    public void TableIsGroupedByProcessAndPrintsFdTable()
    {
        using var l = Listener(out _);
        int fd = (int)l.SafeHandle.DangerousGetHandle();
        var (code, output, _) = Run(new SocketsOptions { Pids = [Me] });
        Assert.Equal(0, code);
        var lines = output.Split('\n');
        Assert.StartsWith($"pid {Me} ", lines[0]);
        Assert.Contains("FD", lines[1]);
        Assert.Contains("LOCAL", lines[1]);
        Assert.Contains(lines, x => x.TrimStart().StartsWith(fd.ToString(CultureInfo.InvariantCulture) + " ", StringComparison.Ordinal) && x.Contains("LISTEN"));
        Assert.Contains(lines, x => x.StartsWith($"fd table of {Me} ", StringComparison.Ordinal));
        Assert.Contains(lines, x => x.Contains($"{fd} -> socket:[", StringComparison.Ordinal));
        // Columns align: every row of the table has LOCAL at the same offset as the header.
        int localAt = lines[1].IndexOf("LOCAL", StringComparison.Ordinal);
        var rowLine = lines.First(x => x.Contains("LISTEN") && x.Contains("127.0.0.1"));
        Assert.Equal(localAt, rowLine.IndexOf("127.0.0.1", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("pid", "999999999", "no process with pid 999999999")]
    [InlineData("pid", "abc", "'abc' is not a process id")]
    [InlineData("user", "no-such-user-tattle", "unknown user 'no-such-user-tattle'")]
    [InlineData("netns", "no-such-ns", "unknown network namespace 'no-such-ns' (an id, a name in /run/netns, or 'all')")]
    [InlineData("netns", "12345", "no readable process in network namespace 12345")]
    public void BadInputIsOneLineAndExitCode2(string what, string value, string message)
    {
        var o = what switch
        {
            "pid" => new SocketsOptions { Pids = [value] },
            "user" => new SocketsOptions { User = value },
            _ => new SocketsOptions { NetNs = value },
        };
        var (code, output, err) = Run(o);
        Assert.Equal(SocketsCommand.BadInput, code);
        Assert.Equal("", output);
        Assert.Equal($"tattle sockets: {message}\n", err);
    }

    [SkippableFact]
    public void BuiltCliRunsEndToEnd()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "tattle.dll");
        Assert.True(File.Exists(dll), dll);
        using var l = Listener(out _);
        var (code, stdout, stderr) = TestEnv.Run("dotnet", dll, "sockets", "-p", Me, "-t", "--json");
        Assert.True(code == 0, stderr);
        int fd = (int)l.SafeHandle.DangerousGetHandle();
        Assert.Contains(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(x => JsonDocument.Parse(x).RootElement),
            d => d.GetProperty("record").GetString() == "socket" && d.GetProperty("fd").GetInt32() == fd);

        var bad = TestEnv.Run("dotnet", dll, "sockets", "--user", "no-such-user-tattle");
        Assert.Equal(2, bad.Code);
        Assert.Equal("tattle sockets: unknown user 'no-such-user-tattle'\n", bad.Stderr);

        var whole = TestEnv.Run("dotnet", dll, "sockets", "-n");
        Assert.Equal(0, whole.Code);
        Assert.Contains($"pid {Me} ", whole.Stdout);
    }
}
