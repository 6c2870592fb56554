using System.Globalization;
using System.Net;
using System.Text.Json;
using Tattle.Sandbox.FakeDns;

namespace Tattle.Sandbox;

/// <summary>A destination the sandbox's filter refused, with the packets it sent there.</summary>
public sealed record BlockedDestination(IPAddress Address, string Protocol, int Port, long Packets);

/// <summary>
/// One sandbox's network, alive from <see cref="Create"/> to <see cref="Dispose"/>: a named network namespace
/// joined to the host by a veth pair on a private /30, its default route through the host, its resolv.conf,
/// its nft table (NAT, DNAT, filter) and, with --offline, the fake DNS responder on the veth's host address.
/// </summary>
public sealed class NetworkSandbox : IDisposable
{
    private readonly SandboxState _state;
    private FakeDnsServer? _fakeDns;
    private bool _removed;

    private NetworkSandbox(SandboxPlan plan, SandboxState state)
    {
        Plan = plan;
        _state = state;
    }

    public SandboxPlan Plan { get; }

    /// <summary>The fake responder's answers so far (--offline), name by address; empty otherwise.</summary>
    public IReadOnlyDictionary<IPAddress, string> FakeAnswers => _fakeDns?.Answers.Names ?? new Dictionary<IPAddress, string>();

    /// <summary>How many fake addresses went to a new name because the range was full (--offline); 0 otherwise.</summary>
    public long FakeDnsRecycled => _fakeDns?.Answers.Recycled ?? 0;

    /// <summary>
    /// Creates the sandbox. The state file is written before the first change, and whatever was created is
    /// removed again when a step fails or <paramref name="cancelled"/> turns true (Ctrl-C during setup).
    /// </summary>
    public static NetworkSandbox Create(SandboxRequest request, Func<bool> cancelled)
    {
        using var hostLock = HostLock.Acquire();
        var others = SandboxState.LoadAll();
        var resolver = HostNetwork.Resolver();
        var taken = HostNetwork.Routes()
            .Concat(others.Select(o => new HostRoute(o.Netns, Ipv4Cidr.TryParse(o.Subnet, out var c) ? c : default)))
            .Concat(resolver.Nameservers.Append(request.Dns).OfType<IPAddress>()
                .Select(a => Ipv4Cidr.TryToUInt(a, out uint v) ? new HostRoute($"resolver {a}", new Ipv4Cidr(v, 32)) : null)
                .OfType<HostRoute>());
        var subnet = SubnetChooser.Choose(taken, request.Subnet);
        var plan = SandboxPlan.Create(NextId(others), subnet, request, resolver);
        var state = SandboxState.For(plan);
        state.Save();
        var sandbox = new NetworkSandbox(plan, state);
        try
        {
            sandbox.Build(cancelled);
            return sandbox;
        }
        catch
        {
            sandbox.RemoveLocked();
            throw;
        }
    }

    /// <summary>The destinations the filter refused (read from the nft set before the table goes).</summary>
    public IReadOnlyList<BlockedDestination> Blocked()
    {
        if (!Plan.Filters || _removed)
        {
            return [];
        }
        var r = HostTools.Run("nft", ["-j", "list", "set", "ip", Plan.NftTable, NftRules.BlockedSet]);
        return r.ExitCode == 0 ? ParseBlocked(r.Stdout) : [];
    }

    /// <summary>Reads the elements of `nft -j list set` output: [address, protocol, port] with a counter each.</summary>
    public static IReadOnlyList<BlockedDestination> ParseBlocked(string json)
    {
        var list = new List<BlockedDestination>();
        using var doc = JsonDocument.Parse(json);
        foreach (var item in doc.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (!item.TryGetProperty("set", out var set) || !set.TryGetProperty("elem", out var elems))
            {
                continue;
            }
            foreach (var e in elems.EnumerateArray())
            {
                // An element with a counter is {"elem": {"val": {...}, "counter": {...}}}; without, the value itself.
                var inner = e.TryGetProperty("elem", out var wrapped) ? wrapped : e;
                var val = inner.TryGetProperty("val", out var v) ? v : inner;
                if (!val.TryGetProperty("concat", out var concat) || concat.GetArrayLength() != 3
                    || !IPAddress.TryParse(concat[0].GetString(), out var address))
                {
                    continue;
                }
                long packets = inner.TryGetProperty("counter", out var counter) ? counter.GetProperty("packets").GetInt64() : 0;
                int port = concat[2].ValueKind == JsonValueKind.Number ? concat[2].GetInt32()
                    : int.Parse(concat[2].GetString() ?? "0", CultureInfo.InvariantCulture);
                list.Add(new BlockedDestination(address, concat[1].GetString() ?? "?", port, packets));
            }
        }
        return list;
    }

    /// <summary>Removes everything the sandbox created; safe to call twice.</summary>
    public void Dispose()
    {
        if (_removed)
        {
            return;
        }
        using var hostLock = HostLock.Acquire();
        RemoveLocked();
    }

    private void RemoveLocked()
    {
        _fakeDns?.Dispose();
        _removed = true;
        SandboxTeardown.Remove(_state);
    }

    private void Build(Func<bool> cancelled)
    {
        var p = Plan;
        string prefix = $"/{p.Subnet.Prefix}";
        var steps = new List<Action>
        {
            () => HostTools.Check("ip", ["netns", "add", p.Netns]),
            // The peer is created inside the namespace under its final name: no clash with the host's eth0.
            () => HostTools.Check("ip", ["link", "add", p.HostVeth, "type", "veth", "peer", "name", SandboxPlan.InsideInterface, "netns", p.Netns]),
            () => HostTools.Check("ip", ["addr", "add", p.HostAddress + prefix, "dev", p.HostVeth]),
            () => HostTools.Check("ip", ["link", "set", p.HostVeth, "up"]),
            () => HostTools.Check("ip", ["-n", p.Netns, "link", "set", "lo", "up"]),
            () => HostTools.Check("ip", ["-n", p.Netns, "addr", "add", p.SandboxAddress + prefix, "dev", SandboxPlan.InsideInterface]),
            () => HostTools.Check("ip", ["-n", p.Netns, "link", "set", SandboxPlan.InsideInterface, "up"]),
            () => HostTools.Check("ip", ["-n", p.Netns, "route", "add", "default", "via", p.HostAddress.ToString()]),
            () =>
            {
                Directory.CreateDirectory(p.EtcDir);
                File.WriteAllText(Path.Combine(p.EtcDir, "resolv.conf"), p.ResolvConf());
            },
            () => HostTools.Check("nft", ["-f", "-"], NftRules.Build(p)),
        };
        if (p.DnatResolver is not null)
        {
            // Packets DNATed to 127.0.0.0/8 are martians unless the interface they came in on allows them.
            steps.Add(() => IpForwarding.SetInterface(p.HostVeth, "route_localnet", 1));
        }
        if (p.Nat)
        {
            steps.Add(IpForwarding.Enable);
        }
        else
        {
            // --offline forwards nothing: forwarding on the veth alone only brings its packets to the forward
            // chain, which refuses them at once (records them), instead of a silent drop that times out.
            steps.Add(() => IpForwarding.SetInterface(p.HostVeth, "forwarding", 1));
            steps.Add(() => _fakeDns = FakeDnsServer.Start(new IPEndPoint(p.HostAddress, 53)));
        }
        foreach (var step in steps)
        {
            if (cancelled())
            {
                throw new OperationCanceledException("interrupted while creating the sandbox");
            }
            step();
        }
    }

    private static string NextId(List<SandboxState> others)
    {
        for (int n = 0; ; n++)
        {
            string id = $"{Environment.ProcessId}-{n}";
            if (others.All(o => o.Id != id) && !File.Exists($"/run/netns/tattle-{id}"))
            {
                return id;
            }
        }
    }
}
