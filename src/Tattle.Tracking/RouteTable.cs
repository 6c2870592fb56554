using Tattle.Records;

namespace Tattle.Tracking;

/// <summary>
/// --stats: the requests of each summary row per operation and route (GET /users/{id}), with status classes,
/// bytes and latency percentiles, kept in memory instead of a record per request. Routes are capped per row;
/// requests past the cap count under "(other)" and in <see cref="Folded"/>.
/// </summary>
public sealed class RouteTable
{
    public const int MaxRoutesPerRow = 200;
    public const string Other = "(other)";

    private readonly Dictionary<SummaryRow, Dictionary<(string Protocol, string? Operation, string? Route), Entry>> _byRow =
        new(ReferenceEqualityComparer.Instance);

    /// <summary>Requests counted under "(other)" because their row already had <see cref="MaxRoutesPerRow"/> routes.</summary>
    public long Folded { get; private set; }

    public void Add(SummaryRow row, MessageRecord record)
    {
        if (!_byRow.TryGetValue(row, out var routes))
        {
            routes = [];
            _byRow[row] = routes;
        }
        var key = (record.Type, record.Operation, record.Route);
        if (!routes.TryGetValue(key, out var entry))
        {
            if (routes.Count >= MaxRoutesPerRow)
            {
                Folded++;
                key = (record.Type, record.Operation, Other);
                if (!routes.TryGetValue(key, out entry))
                {
                    entry = NewEntry(row, key);
                    routes[key] = entry;
                }
            }
            else
            {
                entry = NewEntry(row, key);
                routes[key] = entry;
            }
        }
        var r = entry.Row;
        r.Requests++;
        var (request, response) = record.WireBytes;
        r.RequestBytes += request;
        r.ResponseBytes += response;
        if (record.StatusCode is int status)
        {
            string statusClass = status is >= 100 and < 600 ? StatusClasses[status / 100] : "other";
            r.Statuses[statusClass] = r.Statuses.GetValueOrDefault(statusClass) + 1;
        }
        if (record.LatencyMs is double ms)
        {
            entry.Latencies.RecordMs(ms);
        }
        else
        {
            r.Unanswered++;
        }
    }

    private static readonly string[] StatusClasses = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"];

    private static Entry NewEntry(SummaryRow row, (string Protocol, string? Operation, string? Route) key) => new(new RouteRow
    {
        Pid = row.Pid,
        Comm = row.Comm,
        Role = row.Role,
        Endpoint = row.Endpoint,
        Protocol = key.Protocol,
        Operation = key.Operation,
        Route = key.Route,
    });

    /// <summary>Every route with its percentiles, by process, endpoint, then most requests first.</summary>
    public IReadOnlyList<RouteRow> Rows()
    {
        var rows = new List<RouteRow>();
        foreach (var routes in _byRow.Values)
        {
            foreach (var entry in routes.Values)
            {
                var h = entry.Latencies;
                entry.Row.P50Ms = h.PercentileMs(50);
                entry.Row.P90Ms = h.PercentileMs(90);
                entry.Row.P99Ms = h.PercentileMs(99);
                entry.Row.MaxMs = h.Count > 0 ? h.MaxUs / 1000.0 : null;
                rows.Add(entry.Row);
            }
        }
        return rows.OrderBy(r => r.Pid).ThenBy(r => r.Role, StringComparer.Ordinal).ThenBy(r => r.Endpoint.ToString(), StringComparer.Ordinal)
            .ThenByDescending(r => r.Requests).ThenBy(r => r.Route, StringComparer.Ordinal).ToList();
    }

    private sealed record Entry(RouteRow Row)
    {
        public LatencyHistogram Latencies { get; } = new();
    }
}
