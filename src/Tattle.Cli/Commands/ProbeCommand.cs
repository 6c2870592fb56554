using System.CommandLine;
using Tattle.Capture.Probes;
using Tattle.Cli.Tracing;

namespace Tattle.Cli.Commands;

/// <summary>`tattle probe [-p PID | -- CMD…] 'LIB:GLOB' […]`: library calls and the network on one timeline.</summary>
internal static class ProbeCommand
{
    public static Command Create(TextWriter stderr)
    {
        var options = new TraceOptions();
        var pids = new Option<string?>("--pid", "-p")
        {
            Description = "Probe running processes, comma-separated (their children too), instead of launching a command",
            HelpName = "PID[,PID...]",
        };
        var count = new Option<bool>("--count", "-c")
        {
            Description = "No line per call: count calls and time per function, printed at the end (as ltrace -c)",
        };
        var maxProbes = NumberOption.Create("--max-probes", $"an integer from 1 to {ProbedFunctions.Limit}", 1, ProbedFunctions.Limit,
            description: "The most functions probed; a pattern matching more is refused",
            helpName: "N",
            defaultValue: ProbeConfig.DefaultMaxProbes);
        var user = RunCommand.UserOption();
        var duration = AttachCommand.DurationOption("With -p: stop after this many seconds");
        var items = new Argument<string[]>("probes")
        {
            Description = "What to probe: LIB:GLOB ('libc:getaddrinfo', 'libzmq:zmq_*'), with an optional signature "
                + "('libzmq:zmq_send(ptr, buf:len=arg3, size, int) -> int'); then -- and the command to launch",
            Arity = ArgumentArity.OneOrMore,
        };
        var probe = new Command("probe", "Probe library functions (uprobes) in a command or running processes, with their network")
        {
            pids,
            count,
            maxProbes,
            user,
            duration,
            items,
        };
        options.AddTo(probe);
        CrossCheck.Add(probe, result =>
        {
            var (specs, command) = Split(result.GetValue(items));
            if (specs.Count == 0)
            {
                result.AddError("probe needs at least one LIB:FUNCTION before --, e.g. tattle probe 'libc:getaddrinfo' -- curl -s http://example.com/");
            }
            foreach (string text in specs)
            {
                if (ProbeSpec.Parse(text, out string error) is null)
                {
                    result.AddError("probe " + error);
                }
            }
            string? pidText = result.GetValue(pids);
            if (pidText is null && command.Count == 0)
            {
                result.AddError("probe needs a command after -- or -p PID");
            }
            else if (pidText is not null && command.Count > 0)
            {
                result.AddError("probe takes either -p PID or a command after --, not both");
            }
            else if (pidText is not null && AttachCommand.ParsePids(pidText) is null)
            {
                result.AddError($"-p takes process ids separated by commas, not '{pidText}'");
            }
            if (result.GetValue(user) is not null && pidText is not null)
            {
                result.AddError("--user is for a launched command, not with -p");
            }
        });
        probe.SetAction(result =>
        {
            var (specTexts, command) = Split(result.GetValue(items));
            var config = options.Bind(result) with
            {
                Probes = new ProbeConfig
                {
                    Specs = [.. specTexts.Select(t => ProbeSpec.Parse(t, out _)!)],
                    CountOnly = result.GetValue(count),
                    MaxProbes = result.GetValue(maxProbes),
                },
            };
            ITraceTarget target = result.GetValue(pids) is { } pidText
                ? new AttachTarget(AttachCommand.ParsePids(pidText) ?? [], null, result.GetResult(duration) is null ? null : result.GetValue(duration), stderr)
                : new RunTarget([.. command], result.GetValue(user), followOrphans: true);
            return TraceLoop.Execute(config, target, stderr);
        });
        return probe;
    }

    /// <summary>The probe specs (before --) and the command (after it), from the process's own command line.</summary>
    private static (List<string> Specs, List<string> Command) Split(string[]? values)
    {
        values ??= [];
        // The words after -- are the command's, whatever they look like (the parser hands both lists over as one).
        int after = Math.Min(values.Length, RunCommand.CountAfterDashes());
        return ([.. values[..^after]], [.. values[^after..]]);
    }
}
