using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Tattle.Capture.Proc;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Proc;

/// <summary>Compares this process's TCP/UDP rows with what `ss -tuanpH` reports for it.</summary>
public partial class SsOracleTests
{
    [GeneratedRegex(@"pid=(\d+),fd=(\d+)")]
    private static partial Regex UserRegex();

    [SkippableFact]
    public void OwnTcpAndUdpRowsMatchSs()
    {
        Requires.Program(null, "ss");
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

        // Other tests in this process open and close sockets during the two walks: compare this test's own.
        var ports = new[] { l4, c, a, u, l6 }.Select(s => $":{((IPEndPoint)s.LocalEndPoint!).Port} ").ToArray();
        bool Mine(string row) => ports.Any(p => row.Contains(p, StringComparison.Ordinal));
        for (int attempt = 0; ; attempt++)
        {
            var expected = FromSs().Where(Mine).ToHashSet();
            var actual = FromTattle().Where(Mine).ToHashSet();
            if (expected.SetEquals(actual) || attempt == 2)
            {
                Assert.Equal(expected.Order(), actual.Order());
                Assert.True(expected.Count >= 5, "ss saw our sockets");
                return;
            }
        }
    }

    [SkippableFact]
    public void ListenBacklogsMatchSsSendQ()
    {
        Requires.Program(null, "ss");
        using var l4 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        l4.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        l4.Listen(7);
        using var l6 = new Socket(SocketType.Stream, ProtocolType.Tcp);
        l6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        l6.Listen(3);
        using var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        c.Connect(l4.LocalEndPoint!);

        var rows = SocketTable.Snapshot(new SocketQuery { Pids = [Environment.ProcessId], Kinds = SocketKinds.Tcp }).Rows;
        var (_, ss, _) = TestEnv.Run("ss", "-ltnH");
        foreach (var listener in new[] { l4, l6 })
        {
            int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            var row = Assert.Single(rows, r => r.Local?.Port == port && r.State == "LISTEN");
            // ss -l: State Recv-Q Send-Q Local Peer; Send-Q of a listener is its backlog.
            var line = ss.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Single(f => f.Length >= 5 && f[3].EndsWith($":{port}", StringComparison.Ordinal));
            Assert.Equal(long.Parse(line[2], CultureInfo.InvariantCulture), row.Backlog);
        }
        Assert.Equal(7, rows.Single(r => r.Local?.Port == ((IPEndPoint)l4.LocalEndPoint!).Port && r.State == "LISTEN").Backlog);
        Assert.Null(rows.Single(r => r.Inode != 0 && r.Local?.Port == ((IPEndPoint)c.LocalEndPoint!).Port).Backlog);
    }

    [SkippableFact]
    public void WholeNamespaceTcpAndUdpRowsMatchSs()
    {
        Requires.Program(null, "ss");
        using var l = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        l.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        l.Listen(1);
        // Other processes open and close sockets meanwhile, so bracket ss between two walks: whatever both walks
        // saw existed while ss ran and must be in its output; whatever ss saw must be in one of the walks.
        for (int attempt = 0; ; attempt++)
        {
            var before = FromTattle(pid: null);
            var ss = FromSs(pid: null);
            var after = FromTattle(pid: null);
            var stable = new HashSet<string>(before);
            stable.IntersectWith(after);
            var seen = new HashSet<string>(before);
            seen.UnionWith(after);
            var missingFromSs = stable.Except(ss).ToList();
            var missingFromTattle = ss.Except(seen).ToList();
            // End-to-end tests open and close connections beside this one: a walk that raced a close is retried,
            // after a pause that lets a burst of them settle.
            if ((missingFromSs.Count == 0 && missingFromTattle.Count == 0) || attempt == 5)
            {
                Assert.Empty(missingFromSs);
                Assert.Empty(missingFromTattle);
                Assert.Contains(stable, x => x.Contains($"127.0.0.1:{((IPEndPoint)l.LocalEndPoint!).Port} ", StringComparison.Ordinal));
                return;
            }
            Thread.Sleep(200);
        }
    }

    private static HashSet<string> FromTattle() => FromTattle(Environment.ProcessId);

    private static HashSet<string> FromSs() => FromSs(Environment.ProcessId);

    private static HashSet<string> FromTattle(int? pid)
    {
        var set = new HashSet<string>();
        var q = new SocketQuery { Pids = pid is int p ? [p] : null, Kinds = SocketKinds.Tcp | SocketKinds.Udp };
        foreach (var r in SocketTable.Snapshot(q).Rows)
        {
            if (r.Local is null)
            {
                // Opened by the test host during the walk (state UNKNOWN): ss cannot have seen it either way.
                continue;
            }
            foreach (int fd in r.Fds)
            {
                string netid = r.Protocol.StartsWith("tcp", StringComparison.Ordinal) ? "tcp" : "udp";
                string state = SsState(r.State);
                set.Add(Key(netid, state, $"{Norm(r.Local!.Address)}:{r.Local.Port}", $"{Norm(r.Remote!.Address)}:{r.Remote.Port}",
                    r.Process is null ? null : $"pid={r.Pid},fd={fd}"));
            }
            if (r.Fds.Count == 0)
            {
                set.Add(Key(r.Protocol.StartsWith("tcp", StringComparison.Ordinal) ? "tcp" : "udp", SsState(r.State), $"{Norm(r.Local!.Address)}:{r.Local.Port}", $"{Norm(r.Remote!.Address)}:{r.Remote.Port}", null));
            }
        }
        return set;
    }

    private static string SsState(string state) => state switch
    {
        "ESTABLISHED" => "ESTAB",
        "FIN_WAIT1" => "FIN-WAIT-1",
        "FIN_WAIT2" => "FIN-WAIT-2",
        "CLOSE" => "UNCONN",
        _ => state.Replace('_', '-'),
    };

    private static string Key(string netid, string state, string local, string remote, string? holder) =>
        $"{netid} {state} {local} {remote} {holder ?? "-"}";

    private static HashSet<string> FromSs(int? pid)
    {
        var (code, stdout, _) = TestEnv.Run("ss", "-tuanpH");
        Assert.Equal(0, code);
        string? me = pid?.ToString(CultureInfo.InvariantCulture);
        var set = new HashSet<string>();
        foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 6)
            {
                continue;
            }
            string users = f.Length > 6 ? string.Join(' ', f[6..]) : "";
            var matches = UserRegex().Matches(users);
            if (matches.Count == 0 && me is null)
            {
                set.Add(Key(f[0], f[1], SsEndPoint(f[4]), SsEndPoint(f[5]), null));
            }
            foreach (Match m in matches)
            {
                if (me is null || m.Groups[1].Value == me)
                {
                    set.Add(Key(f[0], f[1], SsEndPoint(f[4]), SsEndPoint(f[5]), $"pid={m.Groups[1].Value},fd={m.Groups[2].Value}"));
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
