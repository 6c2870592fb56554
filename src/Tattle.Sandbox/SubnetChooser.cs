namespace Tattle.Sandbox;

/// <summary>Picks the sandbox's /30: one that overlaps no host route, no other sandbox and no resolver.</summary>
public static class SubnetChooser
{
    /// <summary>
    /// Where automatic subnets come from, in order: private ranges few networks use, carved into /30s. A host
    /// route covering a whole pool (a VPN's 10.0.0.0/8) sends the search on to the next one.
    /// </summary>
    public static readonly IReadOnlyList<Ipv4Cidr> Pools =
    [
        new(0x0AC80000, 16), // 10.200.0.0/16
        new(0xAC1EC800, 21), // 172.30.200.0/21
        new(0xC0A8FA00, 24), // 192.168.250.0/24
    ];

    /// <summary>
    /// Returns the requested subnet when nothing overlaps it (else an error naming what does), or the first free
    /// /30 of <see cref="Pools"/>. <paramref name="taken"/> are host routes, other sandboxes' subnets and
    /// resolver addresses (as /32); the default route overlaps everything and does not count.
    /// </summary>
    public static Ipv4Cidr Choose(IEnumerable<HostRoute> taken, Ipv4Cidr? requested)
    {
        var busy = taken.Where(r => r.Destination.Prefix > 0).ToList();
        if (requested is { } want)
        {
            if (want.Prefix > 30)
            {
                throw new SandboxException($"--subnet {want} is too small: it needs two addresses (a /30 or larger)");
            }
            if (busy.FirstOrDefault(r => r.Destination.Overlaps(want)) is { } clash)
            {
                throw new SandboxException($"--subnet {want} overlaps {clash.Destination} ({clash.Interface}): choose another");
            }
            return want;
        }
        foreach (var pool in Pools)
        {
            for (ulong network = pool.Network; network + 3 <= pool.Last; network += 4)
            {
                var candidate = new Ipv4Cidr((uint)network, 30);
                if (!busy.Any(r => r.Destination.Overlaps(candidate)))
                {
                    return candidate;
                }
            }
        }
        throw new SandboxException($"no free /30 in {string.Join(", ", Pools)}: choose one with --subnet CIDR");
    }
}

/// <summary>The sandbox could not be set up or used; the message is the one line tattle prints.</summary>
public sealed class SandboxException(string message, int exitCode = 2) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
