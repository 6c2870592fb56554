using Tattle.Sandbox;

namespace Tattle.Tests.Support;

/// <summary>
/// The sandbox tests' "internet": a network namespace of the test's own (tattle-test-inet-PID-N) joined to the
/// host by a veth on a /30 of 203.0.113.0/24 (TEST-NET-3), so a sandboxed program reaches it through the host's
/// forwarding and the sandbox's NAT as it would a real server. It has no default route: nothing in it can send
/// anywhere but back to the host. Servers started in it die with it.
/// </summary>
public sealed class TestInternet : IDisposable
{
    private static int s_count;
    private readonly List<ServerProcess> _servers = [];

    private TestInternet(string netns, string hostVeth, Ipv4Cidr subnet)
    {
        Netns = netns;
        HostVeth = hostVeth;
        Subnet = subnet;
    }

    public string Netns { get; }

    public string HostVeth { get; }

    public Ipv4Cidr Subnet { get; }

    /// <summary>The address servers listen on, inside the namespace.</summary>
    public string Address => Subnet.Host(2).ToString();

    public static TestInternet Create()
    {
        int n = Interlocked.Increment(ref s_count);
        string netns = $"tattle-test-inet-{Environment.ProcessId}-{n}";
        string veth = $"tti{Environment.ProcessId % 100000}-{n}";
        // A /30 of TEST-NET-3 that no host route (another test's internet, say) covers yet.
        var routes = HostNetwork.Routes();
        var subnet = Enumerable.Range(0, 64).Select(i => new Ipv4Cidr(0xCB007100 + (uint)(i * 4), 30))
            .First(c => !routes.Any(r => r.Destination.Prefix > 0 && r.Destination.Overlaps(c)));
        var inet = new TestInternet(netns, veth, subnet);
        try
        {
            Ip("netns", "add", netns);
            Ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns);
            Ip("addr", "add", $"{subnet.Host(1)}/30", "dev", veth);
            Ip("link", "set", veth, "up");
            Ip("-n", netns, "link", "set", "lo", "up");
            Ip("-n", netns, "addr", "add", $"{subnet.Host(2)}/30", "dev", "eth0");
            Ip("-n", netns, "link", "set", "eth0", "up");
        }
        catch
        {
            inet.Dispose();
            throw;
        }
        return inet;
    }

    /// <summary>python's http.server on Address:port, serving index.html and big.bin.</summary>
    public ServerProcess Http(int port = 8000) => Keep(ServerProcess.HttpServer(Address, port, Netns));

    /// <summary>dnsmasq on Address:53 answering <paramref name="name"/> with Address (and nothing else: no upstream).</summary>
    public ServerProcess Dns(string name) => Keep(Programs.DnsmasqIn(Netns, 53, Address, $"--address=/{name}/{Address}"));

    private ServerProcess Keep(ServerProcess server)
    {
        _servers.Add(server);
        return server;
    }

    public void Dispose()
    {
        foreach (var s in _servers)
        {
            s.Dispose();
        }
        Programs.Run("ip", "link", "del", HostVeth);
        Programs.Run("ip", "netns", "del", Netns);
    }

    private static void Ip(params string[] args)
    {
        var (exit, _, stderr) = Programs.Run("ip", args);
        if (exit != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)}: {stderr}");
        }
    }
}

/// <summary>
/// What a sandbox may change on the host, as text: network namespaces, links, the whole nft ruleset,
/// ip_forward, /etc/netns and sandbox state files. Taken before and after a test; they must be equal.
/// </summary>
public sealed record HostSnapshot(string Netns, string Links, string Ruleset, string IpForward, string EtcNetns, string StateFiles)
{
    public static HostSnapshot Take()
    {
        static string Out(string exe, params string[] args)
        {
            var (exit, stdout, stderr) = Programs.Run(exe, args);
            Assert.True(exit == 0, $"{exe} {string.Join(' ', args)}: {stderr}");
            return stdout;
        }
        static string List(string dir, string pattern) =>
            Directory.Exists(dir) ? string.Join('\n', Directory.GetFileSystemEntries(dir, pattern).Order(StringComparer.Ordinal)) : "";
        // Other test classes (NetNamespaceLiveTests) add and remove tattle-test-* namespaces of their own while
        // these tests run; the namespaces of this process's test internets stay, and are compared.
        string ours = $"tattle-test-inet-{Environment.ProcessId}-";
        string netns = string.Join('\n', Out("ip", "netns", "list").Split('\n')
            .Where(l => !l.StartsWith("tattle-test-", StringComparison.Ordinal) || l.StartsWith(ours, StringComparison.Ordinal)));
        return new HostSnapshot(
            netns,
            // Statistics and addresses aside, `ip -o link` names every interface with its flags and peer.
            Out("ip", "-o", "link"),
            Out("nft", "list", "ruleset"),
            File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim(),
            List("/etc/netns", "*"),
            List(SandboxState.Directory, "sandbox-*.json"));
    }

    /// <summary>Waits a little for the kernel to finish removing interfaces, then asserts nothing differs.</summary>
    public void AssertUnchanged()
    {
        HostSnapshot now = Take();
        for (int i = 0; i < 20 && now != this; i++)
        {
            Thread.Sleep(50);
            now = Take();
        }
        Assert.Equal(Netns, now.Netns);
        Assert.Equal(Links, now.Links);
        Assert.Equal(Ruleset, now.Ruleset);
        Assert.Equal(IpForward, now.IpForward);
        Assert.Equal(EtcNetns, now.EtcNetns);
        Assert.Equal(StateFiles, now.StateFiles);
    }
}
