using System.Net;
using System.Net.Sockets;
using Tattle.Sandbox;

namespace Tattle.Tests.Sandbox;

/// <summary>--allow entries and --policy files.</summary>
public class AllowlistTests
{
    private static IPAddress[] NoLookup(string name) => throw new SocketException((int)SocketError.HostNotFound);

    private static string Show(AllowRule r) => $"{string.Join(",", r.Networks)}{(r.Port is { } p ? $" port {p}" : "")}";

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7/32")]
    [InlineData("203.0.113.7:443", "203.0.113.7/32 port 443")]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData("10.0.0.0/8:53", "10.0.0.0/8 port 53")]
    [InlineData("10.1.2.3/8", "10.0.0.0/8")] // host bits are forgiven here: the intent is plain
    public void Addresses_AndNetworks(string spec, string expected) =>
        Assert.Equal(expected, Show(AllowRule.Parse(spec, NoLookup)));

    [Fact]
    public void Names_ResolveOnce_ToTheirIpv4Addresses()
    {
        var asked = new List<string>();
        IPAddress[] Resolve(string name)
        {
            asked.Add(name);
            return [IPAddress.Parse("2001:db8::1"), IPAddress.Parse("198.51.100.4"), IPAddress.Parse("198.51.100.5")];
        }
        Assert.Equal("198.51.100.4/32,198.51.100.5/32 port 443", Show(AllowRule.Parse("api.example.test:443", Resolve)));
        Assert.Equal(["api.example.test"], asked);
        // The host's real resolver, for a name every host has.
        Assert.Contains(new Ipv4Cidr(0x7F000001, 32), AllowRule.Parse("localhost", Dns.GetHostAddresses).Networks);
    }

    [Theory]
    [InlineData("", "empty entry")]
    [InlineData("10.0.0.0/8:0", "the port must be a number from 1 to 65535")]
    [InlineData("host:http", "the port must be a number from 1 to 65535")]
    [InlineData("2001:db8::/32", "IPv6 is not supported")]
    [InlineData("[2001:db8::1]:443", "IPv6 is not supported")]
    [InlineData("10.0.0.0/40", "not a host name, an IPv4 address or an IPv4 CIDR")]
    [InlineData("bad name!", "not a host name")]
    [InlineData("nowhere.invalid", "cannot resolve nowhere.invalid")]
    public void Errors_SayWhatIsWrong(string spec, string message)
    {
        var e = Assert.Throws<SandboxException>(() => AllowRule.Parse(spec, NoLookup));
        Assert.Contains(message, e.Message);
        Assert.Equal(2, e.ExitCode);
    }

    [Fact]
    public void Policy_Yaml_Lines_AndABareList()
    {
        Assert.Equal(["example.test:443", "10.0.0.0/8"],
            PolicyFile.Parse("# build policy\nallow:\n  - example.test:443\n  - 10.0.0.0/8  # internal\n", "p.yaml"));
        Assert.Equal(["example.test:443", "10.0.0.0/8:53"], PolicyFile.Parse("allow: [example.test:443, '10.0.0.0/8:53']\n", "p.yaml"));
        Assert.Equal(["a.test", "b.test:80"], PolicyFile.Parse("- a.test\n- b.test:80\n", "p.yaml"));
        Assert.Equal(["a.test", "10.0.0.0/8:80", "b.test"], PolicyFile.Parse("a.test\n\n10.0.0.0/8:80   # comment\n# only a comment\nb.test\n", "p.txt"));
        Assert.Empty(PolicyFile.Parse("allow:\n", "p.yaml"));
    }

    [Fact]
    public void Policy_UnknownKeysAndNestedEntries_AreErrors()
    {
        Assert.Contains("unknown key 'deny'", Assert.Throws<SandboxException>(() => PolicyFile.Parse("deny: [a.test]\n", "p.yaml")).Message);
        Assert.Contains("a HOST|CIDR[:PORT] string or a mapping", Assert.Throws<SandboxException>(() => PolicyFile.Parse("allow:\n  - [a.test]\n", "p.yaml")).Message);
        Assert.Contains("--policy /nonexistent/p.yaml", Assert.Throws<SandboxException>(() => PolicyFile.Load("/nonexistent/p.yaml")).Message);
    }
}
