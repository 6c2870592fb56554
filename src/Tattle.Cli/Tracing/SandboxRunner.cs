using System.Net;
using System.Runtime.InteropServices;
using Tattle.Capture.Launch;
using Tattle.Cli.Commands;
using Tattle.Interop;
using Tattle.Records;
using Tattle.Sandbox;

namespace Tattle.Cli.Tracing;

/// <summary>
/// `tattle sandbox -- CMD`: checks everything that can be checked before the host is touched, creates the
/// sandbox, traces the command in it exactly as `tattle run` does (packets from the host end of the veth), reports
/// what the filter refused, and removes the sandbox on every way out: the command's exit or crash, Ctrl-C,
/// SIGTERM, an error. Only SIGKILL escapes, and the state file lets --cleanup finish the job.
/// </summary>
internal static class SandboxRunner
{
    public static int Execute(SandboxRun run, TraceConfig config, TextWriter stderr)
    {
        SandboxRequest request;
        string? user;
        try
        {
            user = Check(run);
            request = Request(run);
        }
        catch (Exception e) when (e is SandboxException or LaunchException)
        {
            stderr.WriteLine($"tattle: {e.Message}");
            return e is LaunchException l ? l.ExitCode : ((SandboxException)e).ExitCode;
        }

        // From here until the sandbox is gone a signal only raises the flag: the teardown must run to its end.
        bool interrupted = false;
        void OnSignal(PosixSignalContext ctx)
        {
            ctx.Cancel = true;
            interrupted = true;
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);
        NetworkSandbox sandbox;
        try
        {
            sandbox = NetworkSandbox.Create(request, () => interrupted);
        }
        catch (SandboxException e)
        {
            stderr.WriteLine($"tattle: {e.Message}");
            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("tattle: interrupted while creating the sandbox; removed what was created");
            return 130;
        }

        int exitCode = 1;
        try
        {
            Announce(sandbox.Plan, stderr);
            var traced = config with
            {
                // Everything on the veth is the sandbox's: the untagged packets (ARP, ICMP errors) are written too.
                Packets = config.Packets is { } pc ? pc with { Interface = sandbox.Plan.HostVeth, AllPackets = true } : null,
            };
            // The sandbox ends with its command: what the command left running goes with the namespace (counted
            // in the summary as still running), as the sandbox's teardown promises.
            var target = new SandboxTarget(new RunTarget(run.Command, user, [HostTools.Find("ip")!, "netns", "exec", sandbox.Plan.Netns],
                followOrphans: false));
            exitCode = TraceLoop.Execute(traced, target, stderr);
            var blocked = sandbox.Blocked();
            Report(blocked, sandbox, target, stderr);
            if (blocked.Count > 0 && !request.Offline)
            {
                exitCode = SandboxCommand.BlockedExitCode;
            }
        }
        finally
        {
            try
            {
                sandbox.Dispose();
            }
            catch (SandboxException e)
            {
                stderr.WriteLine($"tattle: {e.Message}");
                exitCode = 1;
            }
        }
        return exitCode;
    }

    /// <summary>What must hold before the host is touched; returns the user to run as.</summary>
    private static string? Check(SandboxRun run)
    {
        if (Preflight.Check() is { } problem)
        {
            throw new SandboxException(problem);
        }
        if (Libc.GetEffectiveUserId() != 0)
        {
            throw new SandboxException("sandbox needs root (it creates a network namespace and nftables rules): run it with sudo");
        }
        foreach (var tool in new[] { "ip", "nft" })
        {
            if (HostTools.Find(tool) is null)
            {
                throw new SandboxException($"{tool} is missing: install it with `apt-get install {HostTools.PackageOf(tool)}`");
            }
        }
        GatedLauncher.ResolveCommand(run.Command[0]); // command not found: 127, before anything is created
        // Under sudo the command runs as the user who typed it, as it would have without the sandbox.
        string? user = run.User ?? (Environment.GetEnvironmentVariable("SUDO_USER") is { Length: > 0 } s && s != "root" ? s : null);
        var account = user is null ? null : UserAccount.Find(user) ?? throw new SandboxException($"no such user: {user}");
        // Root in the sandbox can enter the host's namespace (nsenter -t 1 -n) and reach the host's Unix sockets:
        // the policy would hold only for programs that do not try.
        if ((account?.Uid ?? 0) == 0 && !run.AsRoot)
        {
            throw new SandboxException("the command would run as root, which can leave the sandbox: give -u USER, start tattle with sudo from your account, or --as-root");
        }
        return user;
    }

    private static SandboxRequest Request(SandboxRun run)
    {
        var entries = run.Allow.Concat(run.Policy is { } path ? PolicyFile.Load(path) : []).ToList();
        Ipv4Cidr.TryParse(run.Subnet ?? "", out var subnet);
        return new SandboxRequest
        {
            Offline = run.Offline,
            Dns = run.Dns is { } d ? IPAddress.Parse(d) : null,
            Subnet = run.Subnet is null ? null : subnet,
            Allow = run.Allow.Count > 0 || run.Policy is not null ? entries.Select(e => AllowRule.Parse(e, Dns.GetHostAddresses)).ToList() : null,
        };
    }

    private static void Announce(SandboxPlan p, TextWriter stderr)
    {
        string dns = p.Request.Offline ? $"fake DNS on {p.HostAddress} (answers from {Sandbox.FakeDns.FakeDnsAnswers.Range}, nothing leaves)"
            : p.DnatResolver is { } r ? $"DNS {p.HostAddress}, forwarded to the host's loopback resolver {r} (a namespace cannot reach the host's loopback)"
            : $"DNS {p.Nameserver}";
        string filter = p.Request.Allow is { } allow ? $"; allowed: {string.Join(", ", allow.Select(a => a.Spec))}, the rest refused" : "";
        stderr.WriteLine($"tattle: sandbox {p.Netns}: {p.SandboxAddress}/{p.Subnet.Prefix} via {p.HostVeth} {p.HostAddress}; {dns}{filter}");
    }

    private static void Report(IReadOnlyList<BlockedDestination> blocked, NetworkSandbox sandbox, SandboxTarget target, TextWriter stderr)
    {
        string verb = sandbox.Plan.Request.Offline ? "offline, refused" : "blocked";
        foreach (var b in blocked.OrderBy(b => b.Address.ToString(), StringComparer.Ordinal).ThenBy(b => b.Port))
        {
            string? name = sandbox.FakeAnswers.GetValueOrDefault(b.Address) ?? target.Session?.Names.Find(b.Address.ToString());
            string named = name is null ? "" : $" ({name})";
            stderr.WriteLine($"tattle: {verb} {b.Protocol} {b.Address}:{b.Port}{named}, {Plural.Count(b.Packets, "packet", "packets")}");
        }
        if (sandbox.FakeDnsRecycled is > 0 and var recycled)
        {
            // A recycled address names its latest holder above: say so rather than let an old connect look renamed.
            stderr.WriteLine($"tattle: fake DNS recycled {Plural.Count(recycled, "address", "addresses")} (more than {Sandbox.FakeDns.FakeDnsAnswers.Capacity} names); a refused address is named by the last name given it");
        }
    }
}
