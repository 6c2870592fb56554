using Spectre.Console;
using Tattle.Records;

namespace Tattle.Output.Console;

/// <summary>Draws the end-of-run summary: one row per process, protocol, role and endpoint.</summary>
public static class SummaryTable
{
    public static void Render(IAnsiConsole console, SummaryRecord summary)
    {
        var table = new Table().Border(TableBorder.Simple).Title("[bold]tattle summary[/]");
        table.AddColumn("PROCESS");
        table.AddColumn("PROTO");
        table.AddColumn("ROLE");
        table.AddColumn("ENDPOINT");
        table.AddColumn("HOST");
        table.AddColumn("APP");
        table.AddColumn(new TableColumn("CONNS").RightAligned());
        table.AddColumn(new TableColumn("SENT").RightAligned());
        table.AddColumn(new TableColumn("RECV").RightAligned());
        table.AddColumn("ERRORS");
        foreach (var row in summary.Rows)
        {
            table.AddRow(
                Markup.Escape($"{row.Comm}[{row.Pid}]"),
                row.Proto,
                row.Role,
                Markup.Escape(row.Endpoint.ToString()),
                Markup.Escape(row.Endpoint.Host ?? ""),
                Markup.Escape(string.Join(",", row.Protocols)),
                row.Connections.ToString(),
                LiveView.Bytes(row.BytesSent),
                LiveView.Bytes(row.BytesRecv),
                Markup.Escape(string.Join(", ", row.Errors.Select(e => $"{e.Key}×{e.Value}"))));
        }
        if (summary.Rows.Count == 0)
        {
            table.AddRow("[grey](no network activity)[/]", "", "", "", "", "", "", "", "", "");
        }
        console.Write(table);
        string lost = summary.Lost == 0 ? "[green]0 lost[/]" : $"[red]{summary.Lost} lost[/] (see the loss records)";
        string running = summary.StillRunning > 0 ? $", [yellow]{summary.StillRunning} still running[/] (not traced further)" : "";
        console.MarkupLine($"{summary.Processes} processes{running}, {summary.Events} kernel events, {lost}, {summary.DurationMs / 1000:0.00} s");
        if (summary.Tls is { } tls && (tls.Functions > 0 || tls.Failures.Count > 0))
        {
            console.MarkupLine($"TLS: {tls.Calls} library calls read in plaintext ({tls.Functions} functions probed)"
                + (tls.WithoutSocket > 0 ? $", {tls.WithoutSocket} records without a known socket" : ""));
        }
        foreach (var failure in summary.Tls?.Failures ?? [])
        {
            console.MarkupLine($"[yellow]TLS: not probed:[/] {Markup.Escape(failure)}");
        }
    }
}
