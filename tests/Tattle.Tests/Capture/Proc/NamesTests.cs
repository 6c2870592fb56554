using System.Text;
using Tattle.Capture.Proc;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Proc;

public class NamesTests
{
    private static byte[] Fixture(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "testdata", "proc", name));

    [Fact]
    public void ServicesParseFirstEntryWinsAndProtocolsAreSeparate()
    {
        var s = ServiceNames.Parse("""
            # comment
            freeciv		5556/tcp	rptp		# Freeciv gameplay
            http 80/tcp www
            bogus notaport/tcp
            dns 53/udp
            domain 53/tcp
            other 53/tcp
            sctp-only 9/sctp
            """);
        Assert.Equal("freeciv", s.Lookup(5556, "tcp"));
        Assert.Equal("freeciv", s.Lookup(5556, "tcp6"));
        Assert.Null(s.Lookup(5556, "udp"));
        Assert.Equal("dns", s.Lookup(53, "udp6"));
        Assert.Equal("domain", s.Lookup(53, "tcp"));
        Assert.Null(s.Lookup(9, "tcp"));
        Assert.Null(s.Lookup(80, "unix"));
        Assert.Null(s.Lookup(0, "tcp"));
    }

    [SkippableFact]
    public void HostServicesFileKnowsFreeciv()
    {
        Requires.FileFrom(null, "/etc/services", "netbase");
        Assert.Equal("freeciv", ServiceNames.Default.Lookup(5556, "tcp"));
    }

    [Fact]
    public void PasswdResolvesBothWays()
    {
        var u = UserNames.Parse("root:x:0:0:root:/root:/bin/bash\nbroken\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\nbad:x:notanumber:0::/:/bin/false\n");
        Assert.Equal("root", u.NameOf(0));
        Assert.Equal("www-data", u.Display(33));
        Assert.Equal("4242", u.Display(4242));
        Assert.True(u.TryResolve("www-data", out uint uid));
        Assert.Equal(33u, uid);
        Assert.True(u.TryResolve("1234", out uid));
        Assert.Equal(1234u, uid);
        Assert.False(u.TryResolve("nobody-here", out _));
    }

    [Fact]
    public void ContainerIdsFromCgroupPaths()
    {
        Assert.Equal("3f2a9c1e4b5d6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f", ProcessInfo.ContainerIdFromCgroup(Fixture("cgroup_docker")));
        Assert.Equal("aa11bb22cc33dd44ee55ff66aa77bb88cc99dd00ee11ff22aa33bb44cc55dd66", ProcessInfo.ContainerIdFromCgroup(Fixture("cgroup_containerd")));
        Assert.Null(ProcessInfo.ContainerIdFromCgroup(Fixture("cgroup_host")));
        Assert.Equal(new string('a', 64), ProcessInfo.ContainerIdFromCgroup(Encoding.ASCII.GetBytes("0::/docker/" + new string('a', 64) + "\n")));
        // 65 hex digits is not an id.
        Assert.Null(ProcessInfo.ContainerIdFromCgroup(Encoding.ASCII.GetBytes("0::/docker/" + new string('a', 65) + "\n")));
    }

    [Theory]
    [InlineData("net:[4026531840]", "net:[", 4026531840UL, true)]
    [InlineData("socket:[12345]", "socket:[", 12345UL, true)]
    [InlineData("socket:[]", "socket:[", 0UL, false)]
    [InlineData("socket:[12x]", "socket:[", 0UL, false)]
    [InlineData("pipe:[12]", "socket:[", 0UL, false)]
    [InlineData("socket:[12", "socket:[", 0UL, false)]
    public void BracketLinks(string link, string prefix, ulong inode, bool ok)
    {
        Assert.Equal(ok, NetNamespaces.TryParseLink(Encoding.ASCII.GetBytes(link), Encoding.ASCII.GetBytes(prefix), out ulong got));
        Assert.Equal(inode, got);
    }

    [Fact]
    public void AddressNamesHookDefaultsToNull() =>
        Assert.Null(NoAddressNames.Instance.NameOf(System.Net.IPAddress.Loopback));
}
