using System.Diagnostics;
using System.Net;
using Tattle.Sandbox;
using Tattle.Tests.Support;

namespace Tattle.Tests.Sandbox;

/// <summary>The sandbox's nft table, checked by the real nft (`nft -c`: parsed and validated by the kernel, not applied).</summary>
public class NftRulesTests(ITestOutputHelper output)
{
    private static SandboxPlan Plan(SandboxRequest request, string resolver = "10.255.255.53") =>
        SandboxPlan.Create("4242-0", new Ipv4Cidr(0x0AC80000, 30), request, HostNetwork.ParseResolvConf($"nameserver {resolver}\n"));

    private static AllowRule Rule(string spec) => AllowRule.Parse(spec, _ => [IPAddress.Parse("198.51.100.9")]);

    public static TheoryData<string> Modes => ["nat", "nat-dnat", "allow", "offline"];

    private static SandboxPlan PlanOf(string mode) => mode switch
    {
        "nat" => Plan(new SandboxRequest()),
        "nat-dnat" => Plan(new SandboxRequest(), "127.0.0.53"),
        "allow" => Plan(new SandboxRequest { Allow = [Rule("203.0.113.2:8000"), Rule("api.example.test"), Rule("10.0.0.0/8:53")] }),
        _ => Plan(new SandboxRequest { Offline = true }),
    };

    [SkippableTheory]
    [MemberData(nameof(Modes))]
    public void EveryMode_IsATableNftAccepts(string mode)
    {
        string script = NftRules.Build(PlanOf(mode));
        output.WriteLine(script);
        Assert.StartsWith("table ip tattle_4242_0 {", script);
        Requires.RootAndBpf(output);
        Requires.Program(output, "nft");
        var psi = new ProcessStartInfo("nft", ["-c", "-f", "-"]) { RedirectStandardInput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stderr);
    }

    [Fact]
    public void Nat_MasqueradesTheSubnetOutOfEveryOtherInterface_FiltersNothing()
    {
        string script = NftRules.Build(PlanOf("nat"));
        Assert.Contains("ip saddr 10.200.0.0/30 oifname != \"tsb4242-0\" masquerade", script);
        Assert.DoesNotContain("forward", script);
        Assert.DoesNotContain("dnat", script);
    }

    [Fact]
    public void Allow_AcceptsTheResolverAndTheEntries_ThenRecordsAndRefuses()
    {
        var lines = NftRules.Build(PlanOf("allow")).Split('\n').Select(l => l.Trim()).ToList();
        int resolver = lines.IndexOf("iifname \"tsb4242-0\" ip daddr 10.255.255.53 meta l4proto { tcp, udp } th dport 53 accept");
        int entry = lines.IndexOf("iifname \"tsb4242-0\" ip daddr 203.0.113.2/32 meta l4proto { tcp, udp } th dport 8000 accept");
        int named = lines.IndexOf("iifname \"tsb4242-0\" ip daddr 198.51.100.9/32 accept");
        int record = lines.IndexOf("iifname \"tsb4242-0\" meta l4proto { tcp, udp } add @blocked { ip daddr . meta l4proto . th dport }");
        Assert.All(new[] { resolver, entry, named, record }, i => Assert.True(i >= 0));
        Assert.True(resolver < record && entry < record && named < record, "accepts come before the refusal");
        // The same entries accepted where the host itself is the destination, before that chain's refusal.
        int input = lines.IndexOf("chain input {");
        int inputEntry = lines.IndexOf("iifname \"tsb4242-0\" ip daddr 203.0.113.2/32 meta l4proto { tcp, udp } th dport 8000 accept", input);
        int inputRecord = lines.IndexOf("iifname \"tsb4242-0\" meta l4proto { tcp, udp } add @blocked { ip daddr . meta l4proto . th dport }", input);
        Assert.True(input > record && inputEntry > input && inputEntry < inputRecord, "the input chain accepts the entries too");
    }

    [Fact]
    public void Offline_NoNat_NoResolverExemption()
    {
        string script = NftRules.Build(PlanOf("offline"));
        Assert.DoesNotContain("masquerade", script);
        Assert.DoesNotContain("ip daddr 10.255.255.53", script);
        Assert.Contains("reject with tcp reset", script);
    }

    [Fact]
    public void Blocked_ReadFromNftsJson()
    {
        // `nft -j list set ip tattle_proto blocked` after one refused connect (nft 1.0.6).
        const string json = """{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"set": {"family": "ip", "name": "blocked", "table": "tattle_proto", "type": ["ipv4_addr", "inet_proto", "inet_service"], "handle": 3, "size": 4096, "elem": [{"elem": {"val": {"concat": ["203.0.113.2", "tcp", 8001]}, "counter": {"packets": 1, "bytes": 60}}}], "stmt": [{"counter": null}]}}]}""";
        var b = Assert.Single(NetworkSandbox.ParseBlocked(json));
        Assert.Equal(new BlockedDestination(IPAddress.Parse("203.0.113.2"), "tcp", 8001, 1), b);
        Assert.Empty(NetworkSandbox.ParseBlocked("""{"nftables": [{"set": {"name": "blocked"}}]}"""));
    }
}

/// <summary>The state file --cleanup relies on.</summary>
public class SandboxStateTests
{
    [Fact]
    public void StateFile_RoundTrips_AndKnowsItsOwner()
    {
        var plan = SandboxPlan.Create("4242-0", new Ipv4Cidr(0x0AC80000, 30), new SandboxRequest(), HostNetwork.ParseResolvConf("nameserver 10.255.255.53\n"));
        var state = SandboxState.For(plan);
        Assert.Equal(state, SandboxState.Parse(System.Text.Encoding.UTF8.GetString(state.ToJson())));
        Assert.Equal("/run/tattle/sandbox-4242-0.json", state.Path);
        Assert.True(state.Forwarding);
        Assert.True(state.OwnerAlive); // this test process
        Assert.False((state with { OwnerStart = state.OwnerStart + 1 }).OwnerAlive); // a reused pid is not the owner
    }
}
