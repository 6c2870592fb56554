using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Tattle.Capture.Launch;
using Tattle.Cli.Tracing;
using Tattle.Interop;
using Tattle.Sandbox;

namespace Tattle.Cli.Commands;

/// <summary>`tattle sandbox [options] -- CMD [ARGS…]` and `tattle sandbox --cleanup`.</summary>
internal static class SandboxCommand
{
    /// <summary>Exit code when the allowlist refused anything.</summary>
    public const int BlockedExitCode = 3;

    public static Command Create(TextWriter stderr)
    {
        var options = new TraceOptions();
        var user = new Option<string?>("--user", "-u")
        {
            Description = "Run the command as USER (default: SUDO_USER under sudo; from a root shell give -u or --as-root)",
            HelpName = "USER",
        };
        var asRoot = new Option<bool>("--as-root")
        {
            Description = "Let the command run as root, which can leave the sandbox (see docs/sandbox.md)",
        };
        var subnet = new Option<string?>("--subnet")
        {
            Description = "The sandbox's private IPv4 subnet (a /30 or larger; default: a free /30 of 10.200.0.0/16)",
            HelpName = "CIDR",
        };
        var dns = new Option<string?>("--dns")
        {
            Description = "The resolver the sandbox uses (default: the host's)",
            HelpName = "ADDR",
        };
        var offline = new Option<bool>("--offline")
        {
            Description = "No way out: a fake DNS answers every name with an address of 198.18.0.0/15 and every connect is refused and recorded",
        };
        var allow = new Option<string[]>("--allow")
        {
            Description = "Let traffic to HOST or CIDR (optionally one port) through; the rest is refused, reported, and tattle exits 3; repeatable",
            HelpName = "HOST|CIDR[:PORT]",
            AllowMultipleArgumentsPerToken = false,
        };
        var policy = new Option<string?>("--policy")
        {
            Description = "Read --allow entries from FILE (YAML 'allow: [...]' or one entry a line)",
            HelpName = "FILE",
        };
        var cleanup = new Option<bool>("--cleanup")
        {
            Description = "Remove what sandboxes whose tattle was killed left behind, and exit",
        };
        var command = new Argument<string[]>("command")
        {
            Description = "The command to run in the sandbox and trace, after --",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var sandbox = new Command("sandbox", "Run a command in its own network namespace and trace everything it does on the wire; exits with its exit code")
        {
            user, asRoot, subnet, dns, offline, allow, policy, cleanup, command,
        };
        options.AddCaptureTo(sandbox, choosesInterface: false);
        options.AddParsingTo(sandbox);
        options.AddOutputTo(sandbox);
        options.AddKernelTo(sandbox);
        options.Filters.AddTo(sandbox);
        RunCommand.RequireAfterDashes(sandbox, command);
        CrossCheck.Add(sandbox, result =>
        {
            bool clean = result.GetValue(cleanup);
            int argc = result.GetValue(command)?.Length ?? 0;
            if (clean && argc > 0)
            {
                result.AddError("--cleanup takes no command");
            }
            else if (!clean && argc == 0)
            {
                result.AddError("sandbox needs a command after --, e.g. tattle sandbox -- curl -s http://example.com/");
            }
            if (result.GetValue(subnet) is { } s && !Ipv4Cidr.TryParse(s, out _))
            {
                result.AddError($"--subnet expects an IPv4 network like 10.200.0.0/30 (host bits clear), got '{s}'");
            }
            if (result.GetValue(dns) is { } d && !(IPAddress.TryParse(d, out var a) && Ipv4Cidr.TryToUInt(a, out _)))
            {
                result.AddError($"--dns expects an IPv4 address, got '{d}'");
            }
            if (result.GetValue(offline) && (result.GetValue(allow) is { Length: > 0 } || result.GetValue(policy) is not null || result.GetValue(dns) is not null))
            {
                result.AddError("--offline lets nothing out: it does not go with --allow, --policy or --dns");
            }
        });
        sandbox.SetAction(result =>
        {
            if (result.GetValue(cleanup))
            {
                return Cleanup(stderr);
            }
            var request = new SandboxRun
            {
                Command = result.GetValue(command) ?? [],
                User = result.GetValue(user),
                AsRoot = result.GetValue(asRoot),
                Subnet = result.GetValue(subnet),
                Dns = result.GetValue(dns),
                Offline = result.GetValue(offline),
                Allow = result.GetValue(allow) ?? [],
                Policy = result.GetValue(policy),
            };
            var config = options.Bind(result);
            return SandboxRunner.Execute(request, config, stderr);
        });
        return sandbox;
    }

    private static int Cleanup(TextWriter stderr)
    {
        if (Libc.GetEffectiveUserId() != 0)
        {
            stderr.WriteLine("tattle: sandbox --cleanup needs root: run it with sudo");
            return 2;
        }
        try
        {
            var lines = SandboxCleanup.Run();
            foreach (var line in lines)
            {
                stderr.WriteLine($"tattle: {line}");
            }
            if (lines.Count == 0)
            {
                stderr.WriteLine("tattle: no sandbox left behind");
            }
            return 0;
        }
        catch (SandboxException e)
        {
            stderr.WriteLine($"tattle: {e.Message}");
            return 1;
        }
    }
}

/// <summary>The sandbox options after parsing, before anything is checked.</summary>
internal sealed record SandboxRun
{
    public required IReadOnlyList<string> Command { get; init; }

    public string? User { get; init; }

    public bool AsRoot { get; init; }

    public string? Subnet { get; init; }

    public string? Dns { get; init; }

    public bool Offline { get; init; }

    public IReadOnlyList<string> Allow { get; init; } = [];

    public string? Policy { get; init; }
}
