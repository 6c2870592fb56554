using Tattle.Sandbox;

namespace Tattle.Tests.Sandbox;

/// <summary>The sandbox's /30: parsed host routes, collisions, --subnet checks, the pools in order.</summary>
public class SubnetChooserTests
{
    // /proc/net/route of the development machine, as read (tabs, trailing spaces and all).
    private const string ProcNetRoute =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       \n" +
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0                                                                               \n" +
        "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0                                                                               \n" +
        "tsb4242-0\t0000C80A\t00000000\t0001\t0\t0\t0\tFCFFFFFF\t0\t0\t0                                                                               \n";

    private static Ipv4Cidr Cidr(string text) => Ipv4Cidr.TryParse(text, out var c) ? c : throw new FormatException(text);

    [Fact]
    public void ParseRoutes_ReadsTheKernelsLittleEndianHex()
    {
        var routes = HostNetwork.ParseRoutes(ProcNetRoute);
        Assert.Equal(["eth0 0.0.0.0/0", "eth0 192.0.2.0/24", "tsb4242-0 10.200.0.0/30"], routes.Select(r => $"{r.Interface} {r.Destination}"));
    }

    [Fact]
    public void ParseRoutes_OfThisHost_HasTheDefaultRouteOrNothingStrange()
    {
        var routes = HostNetwork.Routes();
        Assert.All(routes, r => Assert.InRange(r.Destination.Prefix, 0, 32));
    }

    [Fact]
    public void Choose_SkipsTakenSubnets_IgnoresTheDefaultRoute()
    {
        var routes = HostNetwork.ParseRoutes(ProcNetRoute);
        Assert.Equal("10.200.0.4/30", SubnetChooser.Choose(routes, null).ToString());
        Assert.Equal("10.200.0.0/30", SubnetChooser.Choose(routes.Take(2), null).ToString());
    }

    [Fact]
    public void Choose_APoolCoveredWhole_MovesToTheNext()
    {
        var vpn = new HostRoute("tun0", Cidr("10.0.0.0/8"));
        Assert.Equal("172.30.200.0/30", SubnetChooser.Choose([vpn], null).ToString());
        var resolver = new HostRoute("resolver", Cidr("172.30.200.1/32"));
        Assert.Equal("172.30.200.4/30", SubnetChooser.Choose([vpn, resolver], null).ToString());
        var all = SubnetChooser.Pools.Select(p => new HostRoute("x", p)).ToList();
        var e = Assert.Throws<SandboxException>(() => SubnetChooser.Choose(all, null));
        Assert.Contains("choose one with --subnet CIDR", e.Message);
    }

    [Fact]
    public void Choose_Requested_MustNotOverlapARoute_AndNeedsTwoAddresses()
    {
        var routes = HostNetwork.ParseRoutes(ProcNetRoute);
        Assert.Equal("10.99.0.0/29", SubnetChooser.Choose(routes, Cidr("10.99.0.0/29")).ToString());
        var clash = Assert.Throws<SandboxException>(() => SubnetChooser.Choose(routes, Cidr("192.0.2.128/30")));
        Assert.Equal("--subnet 192.0.2.128/30 overlaps 192.0.2.0/24 (eth0): choose another", clash.Message);
        var wide = Assert.Throws<SandboxException>(() => SubnetChooser.Choose(routes, Cidr("10.0.0.0/8")));
        Assert.Contains("overlaps 10.200.0.0/30 (tsb4242-0)", wide.Message);
        Assert.Throws<SandboxException>(() => SubnetChooser.Choose(routes, Cidr("10.99.0.0/31")));
    }

    [Theory]
    [InlineData("10.200.0.0/30", true, "10.200.0.0/30")]
    [InlineData("10.200.0.1/30", false, null)]
    [InlineData("10.200.0.7", true, "10.200.0.7/32")]
    [InlineData("10.200.0.0/33", false, null)]
    [InlineData("::1/128", false, null)]
    [InlineData("10.200/16", false, null)]
    public void Cidr_Parse(string text, bool ok, string? shown)
    {
        Assert.Equal(ok, Ipv4Cidr.TryParse(text, out var c));
        if (ok)
        {
            Assert.Equal(shown, c.ToString());
        }
    }

    [Fact]
    public void Plan_NamesFitTheKernelsLimits_AndTheAddressesAreTheFirstTwo()
    {
        var plan = SandboxPlan.Create("4194304-12", Cidr("10.200.0.8/30"), new SandboxRequest(), HostNetwork.ParseResolvConf("nameserver 10.255.255.53\n"));
        Assert.True(plan.HostVeth.Length <= 15, plan.HostVeth); // IFNAMSIZ - 1
        Assert.Equal("tattle-4194304-12", plan.Netns);
        Assert.Equal("tattle_4194304_12", plan.NftTable);
        Assert.Equal("10.200.0.9", plan.HostAddress.ToString());
        Assert.Equal("10.200.0.10", plan.SandboxAddress.ToString());
        Assert.Equal("10.255.255.53", plan.Nameserver.ToString());
        Assert.Null(plan.DnatResolver);
    }

    [Fact]
    public void Plan_LoopbackResolver_IsReachedThroughTheVethAddress()
    {
        var host = HostNetwork.ParseResolvConf("# systemd-resolved\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n");
        var plan = SandboxPlan.Create("1-0", Cidr("10.200.0.0/30"), new SandboxRequest(), host);
        Assert.Equal("127.0.0.53", plan.DnatResolver?.ToString());
        Assert.Equal("10.200.0.1", plan.Nameserver.ToString());
        Assert.Equal("# tattle sandbox tattle-1-0\nnameserver 10.200.0.1\noptions edns0 trust-ad\nsearch lan\n", plan.ResolvConf());
    }

    [Fact]
    public void Plan_OnlyIpv6Resolvers_AsksForDns()
    {
        var host = HostNetwork.ParseResolvConf("nameserver fe80::1%eth0\nnameserver 2001:db8::53\n");
        var e = Assert.Throws<SandboxException>(() => SandboxPlan.Create("1-0", Cidr("10.200.0.0/30"), new SandboxRequest(), host));
        Assert.Contains("--dns ADDR", e.Message);
    }
}
