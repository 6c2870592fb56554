using System.Globalization;
using System.Net;
using System.Text;

namespace Tattle.Report;

/// <summary>
/// `report --html FILE`: one self-contained page, no fetches (a Content-Security-Policy forbids any): the
/// dependency map — programs on the left, endpoints on the right, one edge per pair weighted by requests (bytes
/// when there were none), coloured by protocol, red with errors — and the tables, sortable and filterable.
/// </summary>
public static class InventoryHtml
{
    private const int Width = 1100;
    private const int RowHeight = 34;
    private const int Margin = 30;

    private static readonly Dictionary<string, string> Colours = new(StringComparer.Ordinal)
    {
        ["http"] = "#2b7bb9",
        ["http2"] = "#1f5f99",
        ["tls"] = "#2e8b57",
        ["dns"] = "#8a63d2",
        ["postgresql"] = "#336791",
        ["mysql"] = "#00758f",
        ["redis"] = "#c6302b",
        ["memcached"] = "#6b8e23",
        ["zmtp"] = "#b8860b",
        ["websocket"] = "#008b8b",
    };

    public static string Render(Inventory inv)
    {
        var html = new StringBuilder();
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
            <title>tattle report</title>
            <style>
            body{font:14px system-ui,sans-serif;margin:20px;color:#222}
            table{border-collapse:collapse;margin:8px 0 24px}
            th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
            th{background:#f0f0f0;cursor:pointer;user-select:none}
            .loss{background:#fde2e2;border:1px solid #d33;padding:6px}
            .ok{color:#2e7d32}
            .edge{fill:none;opacity:.75}
            .edge.error{stroke:#d62728!important}
            .node text{font-size:12px}
            .details{font-size:12px;color:#555;white-space:pre-line}
            input{margin:6px 0;padding:4px;width:320px}
            </style></head><body>
            <h1>tattle report</h1>

            """);
        foreach (var line in InventoryText.Header(inv))
        {
            html.Append(line.StartsWith("LOSS", StringComparison.Ordinal) || line.StartsWith("MALFORMED", StringComparison.Ordinal)
                ? $"<p class=\"loss\">{E(line)}</p>\n" : $"<p>{E(line)}</p>\n");
        }
        Map(html, inv);
        html.Append("<h2>Programs</h2>\n<input id=\"filter\" placeholder=\"filter rows…\" aria-label=\"filter\">\n");
        html.Append("<table class=\"sortable\" id=\"programs\"><thead><tr><th>PROGRAM</th><th>USER</th><th>CONTAINER</th><th>PROCESSES</th><th>TREES</th></tr></thead><tbody>\n");
        foreach (var g in inv.Programs)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr class=\"program\" data-program=\"{E(g.Program)}\"><td>{E(g.Program)}</td><td>{E(g.User ?? "?")}</td><td>{E(g.Container ?? "none (host)")}</td><td>{g.Processes}</td><td>{E(string.Join("; ", g.Trees))}</td></tr>\n");
        }
        html.Append("</tbody></table>\n<h2>Endpoints</h2>\n<table class=\"sortable\" id=\"endpoints\"><thead><tr><th>PROGRAM</th>");
        foreach (var c in InventoryText.Columns)
        {
            html.Append(CultureInfo.InvariantCulture, $"<th>{c}</th>");
        }
        html.Append("<th>DETAILS</th></tr></thead><tbody>\n");
        foreach (var e in inv.Endpoints)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr class=\"endpoint\" data-endpoint=\"{E(EndpointId(e))}\"><td>{E(e.Program)}</td>");
            foreach (var cell in InventoryText.Cells(e))
            {
                html.Append(CultureInfo.InvariantCulture, $"<td>{E(cell)}</td>");
            }
            html.Append(CultureInfo.InvariantCulture, $"<td class=\"details\">{E(string.Join("\n", InventoryText.Details(e)))}</td></tr>\n");
        }
        html.Append("</tbody></table>\n");
        html.Append("""
            <script>
            for (const table of document.querySelectorAll('table.sortable')) {
              table.querySelectorAll('th').forEach((th, i) => th.addEventListener('click', () => {
                const body = table.tBodies[0];
                const asc = th.dataset.sort !== 'asc';
                table.querySelectorAll('th').forEach(h => delete h.dataset.sort);
                th.dataset.sort = asc ? 'asc' : 'desc';
                const key = r => r.cells[i].textContent.trim();
                const num = s => { const m = /^([\d.]+)\s*(B|KiB|MiB|GiB|ms)?$/.exec(s); if (!m) return NaN;
                  return parseFloat(m[1]) * ({KiB: 1024, MiB: 1048576, GiB: 1073741824}[m[2]] || 1); };
                const rows = [...body.rows].sort((a, b) => {
                  const x = key(a), y = key(b), nx = num(x), ny = num(y);
                  const c = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
                  return asc ? c : -c;
                });
                rows.forEach(r => body.appendChild(r));
              }));
            }
            document.getElementById('filter').addEventListener('input', ev => {
              const q = ev.target.value.toLowerCase();
              for (const r of document.querySelectorAll('table.sortable tbody tr'))
                r.style.display = r.textContent.toLowerCase().includes(q) ? '' : 'none';
              for (const edge of document.querySelectorAll('.edge'))
                edge.style.display = !q || edge.dataset.program.toLowerCase().includes(q) || edge.dataset.endpoint.toLowerCase().includes(q) ? '' : 'none';
            });
            </script>
            </body></html>

            """);
        return html.ToString();
    }

    /// <summary>The map: a node per program group and per endpoint target, an edge per pair that talked.</summary>
    private static void Map(StringBuilder html, Inventory inv)
    {
        var programs = inv.Programs.Select(p => p.Key).ToList();
        var targets = inv.Endpoints.Select(EndpointId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var edges = inv.Endpoints.GroupBy(e => (Group: e.GroupKeyOf, Target: EndpointId(e))).Select(g => (
            g.Key.Group, g.Key.Target, Requests: g.Sum(e => e.Requests), Bytes: g.Sum(e => e.BytesSent + e.BytesRecv),
            Errors: g.Sum(e => e.Errors.Values.Sum()), App: g.SelectMany(e => e.Apps).FirstOrDefault(a => a != "tls") ?? g.SelectMany(e => e.Apps).FirstOrDefault())).ToList();
        int height = Margin * 2 + RowHeight * Math.Max(1, Math.Max(programs.Count, targets.Count));
        double maxWeight = Math.Max(1, edges.Max(e => (double?)Weight(e.Requests, e.Bytes)) ?? 1);
        html.Append(CultureInfo.InvariantCulture, $"<h2>Map</h2>\n<svg id=\"map\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\">\n");
        int left = 260, right = Width - 360;
        foreach (var edge in edges)
        {
            double y1 = Y(programs.IndexOf(edge.Group)), y2 = Y(targets.IndexOf(edge.Target));
            double stroke = 1.5 + (8.0 * Weight(edge.Requests, edge.Bytes) / maxWeight);
            string colour = edge.App is { } app && Colours.TryGetValue(app, out var c) ? c : "#888888";
            string program = inv.Programs.First(p => p.Key == edge.Group).Program;
            html.Append(CultureInfo.InvariantCulture,
                $"<path class=\"edge{(edge.Errors > 0 ? " error" : "")}\" data-program=\"{E(program)}\" data-endpoint=\"{E(edge.Target)}\" data-app=\"{E(edge.App ?? "")}\" "
                + $"d=\"M{left},{y1:0.#} C{(left + right) / 2},{y1:0.#} {(left + right) / 2},{y2:0.#} {right},{y2:0.#}\" stroke=\"{colour}\" stroke-width=\"{stroke:0.#}\">"
                + $"<title>{E(program)} → {E(edge.Target)}: {edge.Requests} requests, {edge.Bytes} bytes{(edge.Errors > 0 ? $", {edge.Errors} errors" : "")}</title></path>\n");
        }
        for (int i = 0; i < programs.Count; i++)
        {
            var g = inv.Programs[i];
            string label = g.Program + (g.User is { } u ? $" ({u})" : "") + (g.Container is { } ct ? $" [{ct}]" : "");
            html.Append(CultureInfo.InvariantCulture,
                $"<g class=\"node program\" data-program=\"{E(g.Program)}\"><circle cx=\"{left}\" cy=\"{Y(i):0.#}\" r=\"6\" fill=\"#444\"/><text x=\"{left - 12}\" y=\"{Y(i) + 4:0.#}\" text-anchor=\"end\">{E(Short(label, 40))}</text></g>\n");
        }
        for (int i = 0; i < targets.Count; i++)
        {
            html.Append(CultureInfo.InvariantCulture,
                $"<g class=\"node endpoint\" data-endpoint=\"{E(targets[i])}\"><circle cx=\"{right}\" cy=\"{Y(i):0.#}\" r=\"6\" fill=\"#444\"/><text x=\"{right + 12}\" y=\"{Y(i) + 4:0.#}\">{E(Short(targets[i], 48))}</text></g>\n");
        }
        html.Append("</svg>\n<p>Edges: width by requests (bytes where there were none); colour by protocol");
        foreach (var (app, colour) in Colours)
        {
            html.Append(CultureInfo.InvariantCulture, $" <span style=\"color:{colour}\">■ {app}</span>");
        }
        html.Append(" <span style=\"color:#d62728\">■ errors</span></p>\n");
    }

    /// <summary>An endpoint as the map shows it: proto, its name (else address) and port.</summary>
    public static string EndpointId(EndpointUse e) => e.Path is not null ? $"{e.Proto} {e.Address}"
        : $"{e.Proto} {e.Target}{(e.Port is { } p ? $":{p}" : "")}";

    private static double Weight(long requests, long bytes) => requests > 0 ? Math.Log2(1 + requests) * 4 : Math.Log2(1 + bytes) / 4;

    private static double Y(int index) => Margin + (RowHeight * index) + (RowHeight / 2.0);

    private static string Short(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
