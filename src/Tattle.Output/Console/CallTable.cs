using System.Globalization;
using Tattle.Records;
using Tattle.Records.Live;

namespace Tattle.Output.Console;

/// <summary>The summary's table of probed functions (tattle probe), as ltrace -c and strace -c print theirs.</summary>
internal static class CallTable
{
    private static readonly string[] Headers = ["% TIME", "TOTAL", "CALLS", "ERRORS", "P50", "P99", "MAX", "FUNCTION", "LIBRARY"];

    internal static void Render(TextWriter w, SummaryRecord summary, LiveView style)
    {
        if (summary.Probes is { } probes)
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Probes: {probes.Functions} functions probed, {probes.Hits} probe hits")
                + (probes.UnmatchedReturns > 0 ? $", {probes.UnmatchedReturns} returns without their entry (calls in flight when probed)" : ""));
            foreach (var failure in probes.Failures)
            {
                w.WriteLine($"{style.Paint(LiveStyle.Yellow, "Probes: not probed:")} {TerminalText.Sanitize(failure)}");
            }
        }
        if (summary.Calls is not { Count: > 0 } calls)
        {
            return;
        }
        double all = calls.Sum(c => c.TotalUs ?? 0);
        var rows = calls.Select(c => new[]
        {
            all > 0 && c.TotalUs is { } t ? (100 * t / all).ToString("0.00", CultureInfo.InvariantCulture) : "",
            Micros(c.TotalUs),
            c.Calls.ToString(CultureInfo.InvariantCulture),
            c.Errors == 0 ? "" : c.Errors.ToString(CultureInfo.InvariantCulture),
            Micros(c.P50Us),
            Micros(c.P99Us),
            Micros(c.MaxUs),
            TerminalText.Sanitize(c.Function),
            TerminalText.Sanitize(c.Library),
        }).ToList();
        var widths = Headers.Select((h, i) => Math.Max(h.Length, rows.Select(r => r[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        w.WriteLine();
        Row(w, Headers, widths);
        w.WriteLine(new string('─', 2 + widths.Sum() + 3 * (widths.Length - 1)));
        foreach (var r in rows)
        {
            Row(w, r, widths);
        }
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {calls.Sum(c => c.Calls)} calls in {Micros(all)}"));
    }

    /// <summary>"12 µs", "3.40 ms", "1.20 s".</summary>
    internal static string Micros(double? us) => us switch
    {
        null => "",
        < 1000 => us.Value.ToString("0", CultureInfo.InvariantCulture) + " µs",
        < 1_000_000 => (us.Value / 1000).ToString("0.00", CultureInfo.InvariantCulture) + " ms",
        _ => (us.Value / 1_000_000).ToString("0.00", CultureInfo.InvariantCulture) + " s",
    };

    private static void Row(TextWriter w, string[] cells, int[] widths) => Row(w, cells, widths, numbers: 7);

    /// <summary>A row whose first <paramref name="numbers"/> cells are numbers (right-aligned) and the rest names.</summary>
    internal static void Row(TextWriter w, string[] cells, int[] widths, int numbers)
    {
        var line = new System.Text.StringBuilder("  ");
        for (int c = 0; c < cells.Length; c++)
        {
            line.Append(c < numbers ? cells[c].PadLeft(widths[c]) : cells[c].PadRight(widths[c]));
            if (c < cells.Length - 1)
            {
                line.Append("   ");
            }
        }
        w.WriteLine(line.ToString().TrimEnd());
    }
}
