using System.Net;
using Tattle.Capture.Events;
using Tattle.Tracking.Plaintext;

namespace Tattle.Tests.Tracking.Plaintext;

/// <summary>Client ports of synthetic flows: above the ephemeral range, unique while open, freed at the end.</summary>
public class SyntheticPortsTests
{
    private static NetAddress A(string ip, int port) => NetAddress.FromEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));

    [Theory]
    [InlineData("32768\t60999\n", 60999)]
    [InlineData("  1024 65000 ", 65000)]
    [InlineData("40000", SyntheticPorts.DefaultEphemeralLast)]
    [InlineData("a b", SyntheticPorts.DefaultEphemeralLast)]
    [InlineData("", SyntheticPorts.DefaultEphemeralLast)]
    [InlineData("1 70000", SyntheticPorts.DefaultEphemeralLast)]
    public void EphemeralLast_ReadsTheRangeFilesTop(string text, int last) => Assert.Equal(last, SyntheticPorts.EphemeralLast(text));

    [Theory]
    [InlineData(60999, 61000)]
    [InlineData(30000, 61000)] // a lowered range: ports below 61000 still risk a name (57000 is IRC)
    [InlineData(63000, 63001)]
    [InlineData(65400, 61000)] // too few above it: the default's ports, a clash being unlikely
    [InlineData(65535, 61000)]
    public void First_IsAboveTheEphemeralRange(int last, int first) => Assert.Equal(first, new SyntheticPorts(last).First);

    [Fact]
    public void Take_IsUniqueAmongOpenFlows_ToTheSameServer_AndReleaseFreesIt()
    {
        var ports = new SyntheticPorts(65000); // 535 ports
        var client = A("10.0.0.1", 40000);
        var server = A("10.0.0.2", 443);
        var taken = Enumerable.Range(0, 535).Select(_ => ports.Take(client, server, 7)).ToList();
        Assert.All(taken, t => Assert.Equal(client with { Port = t.Port }, t));
        Assert.Equal(535, taken.Select(t => t.Port).Distinct().Count());
        Assert.All(taken, t => Assert.InRange(t.Port, 65001, 65535));

        // Another server, or another client host, is another conversation: the same port is free for it.
        Assert.Equal(taken[0].Port, ports.Take(client, A("10.0.0.2", 8443), 7).Port);
        Assert.Equal(taken[0].Port, ports.Take(A("10.0.0.3", 40000), server, 7).Port);

        ports.Release(taken[100], server);
        Assert.Equal(taken[100].Port, ports.Take(client, server, 7).Port);
        // All held: one is shared rather than failing.
        Assert.InRange(ports.Take(client, server, 7).Port, 65001, 65535);
    }

    [Fact]
    public void ForHost_ReadsTheRangeFile_OrAssumesTheDefault()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "1024\t63999\n");
            Assert.Equal(64000, SyntheticPorts.ForHost(file).First);
        }
        finally
        {
            File.Delete(file);
        }
        Assert.Equal(61000, SyntheticPorts.ForHost("/nonexistent/ip_local_port_range").First);
    }
}
