using System.Globalization;
using System.Text;
using Tattle.Records;
using Tattle.Records.Live;

namespace Tattle.Report;

/// <summary>
/// The report as text: a terminal table (the default) or Markdown (a CI job summary). Both print the same cells,
/// made once here; the HTML page uses them too.
/// </summary>
public static class InventoryText
{
    public static readonly string[] Columns =
        ["PROTO", "ROLE", "ENDPOINT", "NAMES", "APP", "TLS", "CONNS", "REQS", "SENT", "RECV", "P50", "P99", "ERRORS", "FIRST", "LAST"];

    /// <summary>One endpoint's cells, in <see cref="Columns"/>' order.</summary>
    public static string[] Cells(EndpointUse e) =>
    [
        e.Proto,
        e.Role,
        e.Address,
        e.Names.Count == 0 ? "" : string.Join(", ", e.Names),
        string.Join(",", e.Apps),
        e.Tls ? "yes" : "",
        e.Connections.ToString(CultureInfo.InvariantCulture),
        e.Requests == 0 ? "" : e.Requests.ToString(CultureInfo.InvariantCulture),
        LiveLine.ByteCount((ulong)Math.Max(0, e.BytesSent)),
        LiveLine.ByteCount((ulong)Math.Max(0, e.BytesRecv)),
        Latency(e.P50Ms),
        Latency(e.P99Ms),
        string.Join(" ", e.Errors.Select(x => $"{x.Key}×{x.Value}")),
        Time(e.FirstSeen),
        Time(e.LastSeen),
    ];

    /// <summary>The line above a program's endpoints: program, user, container, processes, ancestries.</summary>
    public static string GroupTitle(ProgramGroup g) =>
        $"{g.Program}  user {g.User ?? "?"}  container {g.Container ?? "none (host)"}  {Plural.Count(g.Processes, "process", "processes")}"
        + (g.Trees.Count > 0 ? $"  ({string.Join("; ", g.Trees)})" : "");

    /// <summary>The lines about the source: files, records, and above all loss, which makes every count a lower bound.</summary>
    public static IEnumerable<string> Header(Inventory inv)
    {
        yield return inv.Lost > 0
            ? $"LOSS: {inv.Lost} events lost while tracing ({string.Join(", ", inv.LossWhere.Select(l => $"{l.Key}: {l.Value}"))}): counts below are lower bounds"
            : "no loss: every event of the trace was read";
        if (inv.Malformed > 0)
        {
            yield return $"MALFORMED: {inv.Malformed} lines were not JSON records and were skipped";
        }
        yield return $"{string.Join(", ", inv.Sources)}: {Plural.Count(inv.Records, "record", "records")}, {Plural.Count(inv.Programs.Count, "program", "programs")}, {Plural.Count(inv.Endpoints.Count, "endpoint", "endpoints")}"
            + (inv.FirstSeen is { } f ? $", {f} to {inv.LastSeen}" : "");
    }

    /// <summary>Details below an endpoint's row: its HTTP routes and DNS queries.</summary>
    public static IEnumerable<string> Details(EndpointUse e)
    {
        foreach (var r in e.Http.Values)
        {
            yield return $"{r.Method} {r.Path} ×{r.Count} ({string.Join(", ", r.Statuses.Select(s => $"{s.Key}×{s.Value}"))})";
        }
        foreach (var q in e.Dns.Values)
        {
            yield return $"dns {q.Name} {q.Type} ×{q.Count} {string.Join(",", q.Rcodes)} -> {(q.Answers.Count == 0 ? "-" : string.Join(", ", q.Answers))}";
        }
    }

    public static void WriteTable(TextWriter w, Inventory inv)
    {
        foreach (var line in Header(inv))
        {
            w.WriteLine(Safe(line));
        }
        foreach (var group in inv.Programs)
        {
            w.WriteLine();
            w.WriteLine(Safe(GroupTitle(group)));
            var endpoints = inv.Endpoints.Where(e => e.GroupKeyOf == group.Key).ToList();
            var rows = new List<string[]> { Columns };
            rows.AddRange(endpoints.Select(e => Cells(e).Select(Safe).ToArray()));
            var widths = Columns.Select((_, c) => rows.Max(r => r[c].Length)).ToArray();
            for (int i = 0; i < rows.Count; i++)
            {
                var line = new StringBuilder("  ");
                for (int c = 0; c < Columns.Length; c++)
                {
                    line.Append(c == Columns.Length - 1 ? rows[i][c] : rows[i][c].PadRight(widths[c] + 2));
                }
                w.WriteLine(line.ToString().TrimEnd());
                if (i > 0)
                {
                    foreach (var detail in Details(endpoints[i - 1]))
                    {
                        w.WriteLine("      " + Safe(detail));
                    }
                }
            }
        }
    }

    public static void WriteMarkdown(TextWriter w, Inventory inv)
    {
        w.WriteLine("## tattle report");
        w.WriteLine();
        foreach (var line in Header(inv))
        {
            w.WriteLine($"- {Md(line)}");
        }
        foreach (var group in inv.Programs)
        {
            w.WriteLine();
            w.WriteLine($"### `{Md(group.Program)}`");
            w.WriteLine();
            w.WriteLine($"user {Md(group.User ?? "?")}, container {Md(group.Container ?? "none (host)")}, {Plural.Count(group.Processes, "process", "processes")}"
                + (group.Trees.Count > 0 ? $" ({Md(string.Join("; ", group.Trees))})" : ""));
            w.WriteLine();
            w.WriteLine("| " + string.Join(" | ", Columns) + " | DETAILS |");
            w.WriteLine("|" + string.Concat(Enumerable.Repeat("---|", Columns.Length + 1)));
            foreach (var e in inv.Endpoints.Where(e => e.GroupKeyOf == group.Key))
            {
                w.WriteLine("| " + string.Join(" | ", Cells(e).Select(Md)) + " | " + string.Join("<br>", Details(e).Select(Md)) + " |");
            }
        }
    }

    /// <summary>"0.41 ms", "12.3 ms", or empty.</summary>
    public static string Latency(double? ms) =>
        ms is double v ? v.ToString(v < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture) + " ms" : "";

    private static string Time(string? ts) => ts is { Length: >= 19 } ? ts[11..19] : ts ?? "";

    /// <summary>Text the traced programs control reaches the terminal with control characters escaped.</summary>
    private static string Safe(string text) => TerminalText.Sanitize(text);

    /// <summary>Markdown table cells: no pipes or newlines, and no HTML from the trace.</summary>
    public static string Md(string text) => TerminalText.Sanitize(text).Replace("|", "\\|", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal)
        .Replace("`", "'", StringComparison.Ordinal);
}
