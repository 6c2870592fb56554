using System.CommandLine;
using System.Globalization;
using Tattle.Cli.Tracing;

namespace Tattle.Cli.Commands;

/// <summary>`tattle attach -p PID[,PID…] [--comm NAME] [--duration SECONDS]`.</summary>
internal static class AttachCommand
{
    public static Command Create(TextWriter stderr)
    {
        var options = new TraceOptions();
        var pids = new Option<string?>("--pid", "-p")
        {
            Description = "Processes to trace, comma-separated (their children are traced too)",
            HelpName = "PID[,PID...]",
        };
        var comm = new Option<string?>("--comm")
        {
            Description = "Trace every process with this name, including ones that start later",
            HelpName = "NAME",
        };
        var duration = DurationOption("Stop after this many seconds");
        var attach = new Command("attach", "Trace running processes until Ctrl-C, the duration, or they exit")
        {
            pids,
            comm,
            duration,
        };
        options.AddTo(attach);
        CrossCheck.Add(attach, result =>
        {
            var text = result.GetValue(pids);
            if (text is null && result.GetValue(comm) is null)
            {
                result.AddError("attach needs -p PID or --comm NAME");
            }
            else if (text is not null && ParsePids(text) is null)
            {
                result.AddError($"-p takes process ids separated by commas, not '{text}'");
            }
        });
        attach.SetAction(result =>
        {
            var target = new AttachTarget(ParsePids(result.GetValue(pids) ?? "") ?? [], result.GetValue(comm),
                result.GetResult(duration) is null ? null : result.GetValue(duration), stderr);
            var config = options.Bind(result);
            return TraceLoop.Execute(config, target, stderr);
        });
        return attach;
    }

    /// <summary>--duration SECONDS: attach's, and probe's with -p.</summary>
    // Up to a year: a longer one overflowed the deadline and ended the trace at once.
    internal static Option<double> DurationOption(string description) =>
        NumberOption.Create("--duration", "a number of seconds from 0.001 to 31536000 (a year)", 0.001, 365 * 86400.0,
            description: description, helpName: "SECONDS");

    internal static List<int>? ParsePids(string text)
    {
        var list = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid <= 0)
            {
                return null;
            }
            list.Add(pid);
        }
        return list;
    }
}
