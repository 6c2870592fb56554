using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Tattle.Capture.Proc;

namespace Tattle.Tests.Capture.Proc;

/// <summary>Compares this process's TCP/UDP rows with what `ss -tuanpH` reports for it.</summary>
public partial class SsOracleTests
{
    [GeneratedRegex(@"pid=(\d+),fd=(\d+)")]
    private static partial Regex UserRegex();

    [Fact]
    public void OwnTcpAndUdpRowsMatchSs()
    {
        if (TestEnv.Run("sh", "-c", "command -v ss").Code != 0)
        {
            Assert.False(string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase), "ss missing under CI");
            Console.WriteLine("skipped: ss not installed");
            return;
        }
        using var l4 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        l4.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        l4.Listen(1);
        using var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        c.Connect(l4.LocalEndPoint!);
        using var a = l4.Accept();
        using var u = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        u.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var l6 = new Socket(SocketType.Stream, ProtocolType.Tcp); // dual-stack: shows as tcp6 with [::]
        l6.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        l6.Listen(1);

        // Sockets of the test host may come and go between the two walks; retry once before failing.
        for (int attempt = 0; ; attempt++)
        {
            var expected = FromSs();
            var actual = FromTattle();
            if (expected.SetEquals(actual) || attempt == 2)
            {
                Assert.Equal(expected.Order(), actual.Order());
                Assert.True(expected.Count >= 5, "ss saw our sockets");
                return;
            }
        }
    }

    private static HashSet<string> FromTattle()
    {
        var set = new HashSet<string>();
        foreach (var r in SocketTable.Snapshot(new SocketQuery { Pids = [Environment.ProcessId], Kinds = SocketKinds.Tcp | SocketKinds.Udp }).Rows)
        {
            if (r.Local is null)
            {
                // Opened by the test host during the walk (state UNKNOWN): ss cannot have seen it either way.
                continue;
            }
            foreach (int fd in r.Fds)
            {
                string netid = r.Protocol.StartsWith("tcp", StringComparison.Ordinal) ? "tcp" : "udp";
                string state = r.State switch
                {
                    "ESTABLISHED" => "ESTAB",
                    "FIN_WAIT1" => "FIN-WAIT-1",
                    "FIN_WAIT2" => "FIN-WAIT-2",
                    _ => r.State.Replace('_', '-'),
                };
                set.Add($"{netid} {state} {Norm(r.Local!.Address)}:{r.Local.Port} {Norm(r.Remote!.Address)}:{r.Remote.Port} fd={fd}");
            }
        }
        return set;
    }

    private static HashSet<string> FromSs()
    {
        var (code, stdout, _) = TestEnv.Run("ss", "-tuanpH");
        Assert.Equal(0, code);
        string me = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var set = new HashSet<string>();
        foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 7)
            {
                continue;
            }
            string users = string.Join(' ', f[6..]);
            foreach (Match m in UserRegex().Matches(users))
            {
                if (m.Groups[1].Value == me)
                {
                    set.Add($"{f[0]} {f[1]} {SsEndPoint(f[4])} {SsEndPoint(f[5])} fd={m.Groups[2].Value}");
                }
            }
        }
        return set;
    }

    private static string SsEndPoint(string text)
    {
        int colon = text.LastIndexOf(':');
        string addr = text[..colon];
        string port = text[(colon + 1)..];
        int pct = addr.IndexOf('%');
        if (pct >= 0)
        {
            addr = addr[..pct] + (addr.StartsWith('[') ? "]" : "");
        }
        addr = addr.Trim('[', ']');
        string a = addr == "*" ? "*" : Norm(IPAddress.Parse(addr));
        return $"{a}:{(port == "*" ? "0" : port)}";
    }

    // ss prints an unspecified address as "*", "0.0.0.0" or "[::]" depending on family and version.
    private static string Norm(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any) ? "*" : a.ToString();
}
