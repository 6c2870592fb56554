using System.Globalization;
using Tattle.Records;
using Tattle.Records.Live;

namespace Tattle.Output.Console;

/// <summary>
/// Draws the end-of-run summary: one row per process, protocol, role and endpoint. Plain columns, never wrapped;
/// on a terminal narrower than the table the widest text columns are cut (ending in "…") to fit its width.
/// </summary>
public static class SummaryTable
{
    private static readonly string[] Headers =
        ["PROCESS", "PROTO", "ROLE", "ENDPOINT", "HOST", "APP", "CONNS", "SENT", "RECV", "REQS", "P50", "P99", "ERRORS"];

    // CONNS to P99 are numbers: right-aligned, and never cut.
    private static bool IsNumeric(int column) => column is >= 6 and <= 11;

    // A cut column keeps at least this many characters.
    private const int MinCut = 8;

    internal static void Render(TextWriter w, SummaryRecord summary, LiveView style)
    {
        var rows = summary.Rows.Select(row => new[]
        {
            TerminalText.Sanitize(row.Comm) + "[" + row.Pid.ToString(CultureInfo.InvariantCulture) + "]",
            TerminalText.Sanitize(row.Proto),
            TerminalText.Sanitize(row.Role),
            TerminalText.Sanitize(row.Endpoint.ToString()),
            TerminalText.Sanitize(row.Endpoint.Host ?? ""),
            TerminalText.Sanitize(string.Join(",", row.Protocols)),
            row.Connections.ToString(CultureInfo.InvariantCulture),
            LiveView.Bytes(row.BytesSent),
            LiveView.Bytes(row.BytesRecv),
            row.Requests == 0 ? "" : row.Requests.ToString(CultureInfo.InvariantCulture),
            Latency(row.P50Ms),
            Latency(row.P99Ms),
            TerminalText.Sanitize(string.Join(", ", Problems(row))),
        }).ToList();
        var widths = Headers.Select(h => h.Length).ToArray();
        foreach (var row in rows)
        {
            for (int c = 0; c < row.Length; c++)
            {
                widths[c] = Math.Max(widths[c], row[c].Length);
            }
        }
        if (style.Width is int limit)
        {
            Fit(widths, limit);
        }
        int total = 2 + widths.Sum() + 3 * (widths.Length - 1);

        string title = "tattle summary";
        w.WriteLine(new string(' ', Math.Max(0, (total - title.Length) / 2)) + style.Paint(LiveStyle.Bold, title));
        w.WriteLine();
        WriteRow(w, Headers, widths);
        w.WriteLine(new string('─', total));
        foreach (var row in rows)
        {
            WriteRow(w, row, widths);
        }
        if (rows.Count == 0)
        {
            w.WriteLine("  " + style.Paint(LiveStyle.Grey, "(no network activity)"));
        }
        w.WriteLine();
        string lost = summary.Lost == 0 ? style.Paint(LiveStyle.Green, "0 lost") : style.Paint(LiveStyle.Red, $"{summary.Lost} lost") + " (see the loss records)";
        string running = summary.StillRunning > 0
            ? ", " + style.Paint(LiveStyle.Yellow, $"{summary.StillRunning} still running") + " (not traced further)" : "";
        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Plural.Count(summary.Processes, "process", "processes")}{running}, {summary.Events} kernel events, {lost}, {summary.DurationMs / 1000:0.00} s"));
        if (summary.Tls is { } tls && (tls.Functions > 0 || tls.Failures.Count > 0))
        {
            w.WriteLine($"TLS: {tls.Calls} library calls read in plaintext ({tls.Functions} functions probed, {tls.Hits} probe hits)"
                + (tls.WithoutSocket > 0 ? $", {tls.WithoutSocket} records without a known socket" : "")
                + (tls.SocketMismatches > 0 ? $", {tls.SocketMismatches} Go reads whose socket field disagreed with their syscall" : "")
                + (tls.LateConnections > 0 ? $", {Plural.Count((long)tls.LateConnections, "connection", "connections")} whose handshake came before the probes went live (see the notices)" : ""));
        }
        foreach (var failure in summary.Tls?.Failures ?? [])
        {
            w.WriteLine($"{style.Paint(LiveStyle.Yellow, "TLS: not probed:")} {TerminalText.Sanitize(failure)}");
        }
        CallTable.Render(w, summary, style);
        RouteTableView.Render(w, summary);
    }

    /// <summary>"0.41 ms", "12.3 ms", or empty without answered requests.</summary>
    private static string Latency(double? ms) =>
        ms is double v ? v.ToString(v < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture) + " ms" : "";

    // A request that failed or was left without a response reads as a problem of the endpoint, beside its failed
    // connects.
    private static IEnumerable<string> Problems(SummaryRow row) =>
        row.Errors.Concat(row.RequestErrors).Select(e => $"{e.Key}×{e.Value}")
            .Concat(row.Unanswered > 0 ? [$"unanswered×{row.Unanswered.ToString(CultureInfo.InvariantCulture)}"] : []);

    /// <summary>Narrows the widest text columns, one character at a time, until the table fits or none can give more.</summary>
    private static void Fit(int[] widths, int limit)
    {
        int total = 2 + widths.Sum() + 3 * (widths.Length - 1);
        while (total > limit)
        {
            int widest = -1;
            for (int c = 0; c < widths.Length; c++)
            {
                if (!IsNumeric(c) && widths[c] > Math.Max(MinCut, Headers[c].Length) && (widest < 0 || widths[c] > widths[widest]))
                {
                    widest = c;
                }
            }
            if (widest < 0)
            {
                return;
            }
            widths[widest]--;
            total--;
        }
    }

    private static void WriteRow(TextWriter w, string[] cells, int[] widths)
    {
        var line = new System.Text.StringBuilder("  ");
        for (int c = 0; c < cells.Length; c++)
        {
            string cell = cells[c].Length > widths[c] ? string.Concat(cells[c].AsSpan(0, widths[c] - 1), "…") : cells[c];
            if (c > 0)
            {
                line.Append("   ");
            }
            if (IsNumeric(c))
            {
                line.Append(cell.PadLeft(widths[c]));
            }
            else
            {
                line.Append(cell.PadRight(widths[c]));
            }
        }
        w.WriteLine(line.ToString().TrimEnd());
    }
}
