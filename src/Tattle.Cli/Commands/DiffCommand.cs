using System.CommandLine;
using Tattle.Interop;
using Tattle.Report;

namespace Tattle.Cli.Commands;

/// <summary>`tattle diff OLD NEW`: endpoints added, removed and changed between two traces or reports.</summary>
internal static class DiffCommand
{
    /// <summary>Exit code of --fail-on-new when something was added.</summary>
    public const int NewExitCode = 3;

    public static Command Create(TextWriter stderr)
    {
        var old = new Argument<string>("old") { Description = "The earlier trace (JSON Lines, pcap/pcapng) or report (tattle report --json)" };
        var now = new Argument<string>("new") { Description = "The later one" };
        var json = new Option<bool>("--json") { Description = "The differences as one JSON object" };
        var failOnNew = new Option<bool>("--fail-on-new") { Description = $"Exit {NewExitCode} when anything was added: an endpoint, or a port, protocol or program of one" };
        var diff = new Command("diff", "What changed between two runs: endpoints added, removed, and changed (new port, protocol, program; TLS dropped)")
        {
            old, now, json, failOnNew,
        };
        diff.SetAction(result =>
        {
            try
            {
                var before = Load(result.GetValue(old)!, stderr);
                var after = Load(result.GetValue(now)!, stderr);
                var d = InventoryDiff.Compare(before, after);
                if (result.GetValue(json))
                {
                    d.WriteJson(StandardStream.Output);
                }
                else
                {
                    ReportCommand.WriteFile(null, d.WriteText);
                }
                return result.GetValue(failOnNew) && d.AnythingNew ? NewExitCode : 0;
            }
            catch (ReportInputs.InputException e)
            {
                stderr.WriteLine($"tattle diff: {e.Message}");
                return 2;
            }
        });
        return diff;
    }

    private static Inventory Load(string path, TextWriter stderr) =>
        path != "-" && ReportInputs.Kind(path) == InputKind.Json && ReportInputs.TryReadReportJson(path) is { } report
            ? report
            : ReportInputs.Load([path], stderr);
}
