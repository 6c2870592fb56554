using FsCheck;
using FsCheck.Fluent;
using Tattle.Sandbox;

namespace Tattle.Tests.Report;

/// <summary>The policy format shared by sandbox --policy, check --policy and report --policy-out.</summary>
public sealed class PolicyFileTests
{
    [Theory]
    [InlineData("allow: [svc.test:443]", "svc.test", null, "443", null, null)]
    [InlineData("allow:\n  - host: '*.example.com'\n    ports: [80, 443]\n", "*.example.com", null, "80,443", null, null)]
    [InlineData("allow:\n  - host: API.Example.com\n    port: 8443\n    proto: TCP\n    app: tls\n", "api.example.com", null, "8443", "tcp", "tls")]
    [InlineData("allow:\n  - cidr: 10.0.0.0/8\n    proto: udp\n", null, "10.0.0.0/8", "", "udp", null)]
    [InlineData("allow:\n  - cidr: 10.1.2.3/8\n", null, "10.0.0.0/8", "", null, null)]
    [InlineData("allow:\n  - cidr: 2001:db8::/32\n    port: 53\n", null, "2001:db8::/32", "53", null, null)]
    [InlineData("allow: ['[2001:db8::1]:443']", null, "2001:db8::1/128", "443", null, null)]
    [InlineData("10.0.0.0/8:80   # comment\n", null, "10.0.0.0/8", "80", null, null)]
    [InlineData("- a.test\n", "a.test", null, "", null, null)]
    public void Entries_Parse(string text, string? host, string? cidr, string ports, string? proto, string? app)
    {
        var rule = Assert.Single(PolicyFile.ParsePolicy(text, "p.yaml").Allow);
        Assert.Equal(host, rule.Host);
        Assert.Equal(cidr, rule.Network?.ToString());
        Assert.Equal(ports, string.Join(",", rule.Ports));
        Assert.Equal(proto, rule.Proto);
        Assert.Equal(app, rule.App);
    }

    [Fact]
    public void Switches_AndPerProgramFields()
    {
        var policy = PolicyFile.ParsePolicy(
            "loopback: true\nresolvers: false\nallow:\n  - host: a.test\n    program: /usr/bin/curl\n    user: builder\n    cgroup: /system.slice/x.scope\n", "p.yaml");
        Assert.True(policy.Loopback);
        Assert.False(policy.Resolvers);
        var rule = Assert.Single(policy.Allow);
        Assert.Equal(("/usr/bin/curl", "builder", "/system.slice/x.scope"), (rule.Program, rule.User, rule.Cgroup));
        var defaults = PolicyFile.ParsePolicy("allow: []", "p.yaml");
        Assert.False(defaults.Loopback);
        Assert.True(defaults.Resolvers);
    }

    [Theory]
    [InlineData("deny: [a.test]\n", "unknown key 'deny'")]
    [InlineData("allow:\n  - {host: a.test, colour: red}\n", "unknown key 'colour' in an allow entry")]
    [InlineData("allow:\n  - {host: a.test, cidr: 10.0.0.0/8}\n", "either host or cidr")]
    [InlineData("allow:\n  - {port: 80}\n", "either host or cidr")]
    [InlineData("allow:\n  - {host: 10.0.0.1}\n", "host takes a name, cidr an address")]
    [InlineData("allow:\n  - {host: a.test, port: 70000}\n", "the port must be a number from 1 to 65535")]
    [InlineData("allow:\n  - {host: a.test, proto: sctp}\n", "proto must be tcp or udp")]
    [InlineData("allow:\n  - {host: a.test, ports: 80}\n", "ports must be a list")]
    [InlineData("allow:\n  - [a.test]\n", "every allow entry must be")]
    [InlineData("allow: {a: b}\n", "allow must be a list")]
    [InlineData("loopback: maybe\n", "loopback must be true or false")]
    [InlineData("bad name!\n", "not a host name")]
    [InlineData("host:http\n", "the port must be a number")]
    public void Errors_AreOneLineNamingTheFile(string text, string message)
    {
        var e = Assert.Throws<SandboxException>(() => PolicyFile.ParsePolicy(text, "p.yaml"));
        Assert.Contains(message, e.Message);
        Assert.StartsWith("--policy p.yaml: ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(2, e.ExitCode);
    }

    [Fact]
    public void Sandbox_GetsHostPortStrings_AndRefusesWildcards()
    {
        Assert.Equal(["a.test:80", "a.test:443", "10.0.0.0/8", "b.test:53"],
            PolicyFile.Parse("allow:\n  - {host: a.test, ports: [443, 80]}\n  - {cidr: 10.0.0.0/8}\n  - b.test:53\n", "p.yaml"));
        Assert.Contains("cannot allow a *.suffix", Assert.Throws<SandboxException>(() => PolicyFile.Parse("allow: ['*.a.test']", "p.yaml")).Message);
    }

    [Fact]
    public void WildcardHost_MatchesNamesUnderIt_NotItself()
    {
        var rule = Assert.Single(PolicyFile.ParsePolicy("allow: ['*.example.com']", "p.yaml").Allow);
        Assert.True(rule.MatchesName("api.example.com"));
        Assert.True(rule.MatchesName("a.b.EXAMPLE.com"));
        Assert.False(rule.MatchesName("example.com"));
        Assert.False(rule.MatchesName("badexample.com"));
    }

    /// <summary>Whatever the text, parsing gives a policy or one clear line: never another exception.</summary>
    [Fact]
    public void AnyText_ParsesOrGivesAClearError()
    {
        string[] pieces = ["allow:", "\n", "  - ", "host: ", "cidr: ", "port: ", "ports: [", "]", "{", "}", "'", "\"", "*.", "a.test",
            "10.0.0.0/8", ":", "443", "-1", "&a", "*a", "!!tag ", "proto: udp", "loopback: ", "true", "#", "\t", "[::1]:80", "%", "|", ">"];
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000), Prop.ForAll<int[]>(picks =>
        {
            string text = string.Concat((picks ?? []).Select(p => pieces[Math.Abs(p % pieces.Length)]));
            try
            {
                PolicyFile.ParsePolicy(text, "p.yaml");
            }
            catch (SandboxException e)
            {
                Assert.StartsWith("--policy p.yaml: ", e.Message);
                Assert.DoesNotContain('\n', e.Message);
            }
        }));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll<string>(text =>
        {
            try
            {
                PolicyFile.ParsePolicy(text ?? "", "p.yaml");
            }
            catch (SandboxException)
            {
            }
        }));
    }
}
