using System.Globalization;
using Tattle.Records;
using Tattle.Records.Live;

namespace Tattle.Output.Console;

/// <summary>The summary's route table (--stats): requests per operation and route of each endpoint, most first.</summary>
internal static class RouteTableView
{
    private static readonly string[] Headers =
        ["REQS", "UNANSWERED", "P50", "P90", "P99", "MAX", "STATUSES", "APP", "OP", "ROUTE", "ENDPOINT", "PROCESS"];

    internal static void Render(TextWriter w, SummaryRecord summary)
    {
        if (summary.Routes is not { } routes)
        {
            return;
        }
        var rows = routes.Select(r => new[]
        {
            r.Requests.ToString(CultureInfo.InvariantCulture),
            r.Unanswered == 0 ? "" : r.Unanswered.ToString(CultureInfo.InvariantCulture),
            CallTable.Micros(r.P50Ms * 1000),
            CallTable.Micros(r.P90Ms * 1000),
            CallTable.Micros(r.P99Ms * 1000),
            CallTable.Micros(r.MaxMs * 1000),
            string.Join(" ", r.Statuses.Select(s => $"{s.Key}×{s.Value.ToString(CultureInfo.InvariantCulture)}")),
            TerminalText.Sanitize(r.Protocol),
            TerminalText.Sanitize(r.Operation ?? ""),
            TerminalText.Sanitize(r.Route ?? ""),
            TerminalText.Sanitize(r.Endpoint.ToString()),
            TerminalText.Sanitize(r.Comm) + "[" + r.Pid.ToString(CultureInfo.InvariantCulture) + "]",
        }).ToList();
        var widths = Headers.Select((h, i) => Math.Max(h.Length, rows.Select(r => r[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        w.WriteLine();
        CallTable.Row(w, Headers, widths, numbers: 6);
        w.WriteLine(new string('─', 2 + widths.Sum() + 3 * (widths.Length - 1)));
        foreach (var r in rows)
        {
            CallTable.Row(w, r, widths, numbers: 6);
        }
        if (rows.Count == 0)
        {
            w.WriteLine("  (no requests)");
        }
        if (summary.RoutesFolded > 0)
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  (other): {summary.RoutesFolded} requests of endpoints past their cap of routes"));
        }
    }
}
