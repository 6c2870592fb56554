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

    // The route of the previous request: a busy endpoint repeats its routes, and one comparison beats a hash.
    private Entry? _last;

    public void Add(SummaryRow row, MessageRecord record)
    {
        var r = EntryFor(row, (record.Type, record.Operation, record.Route), 1);
        r.Row.Requests++;
        var (request, response) = record.WireBytes;
        r.Row.RequestBytes += request;
        r.Row.ResponseBytes += response;
        r.Answer(record.StatusCode, record.LatencyMs is double ms ? LatencyHistogram.ToUs(ms) : null, record.RequestUnseen);
    }

    /// <summary>
    /// Requests counted in the kernel (--stats-in-kernel): each one's status and latency in microseconds (0 for no
    /// response), and the bytes of them all.
    /// </summary>
    public void AddCounted(SummaryRow row, string protocol, string? operation, string? route, ReadOnlySpan<ushort> statuses,
        ReadOnlySpan<uint> latenciesUs, ulong requestBytes, ulong responseBytes)
    {
        var r = EntryFor(row, (protocol, operation, route), statuses.Length);
        r.Row.Requests += statuses.Length;
        r.Row.RequestBytes += (long)requestBytes;
        r.Row.ResponseBytes += (long)responseBytes;
        for (int i = 0; i < statuses.Length; i++)
        {
            r.Answer(statuses[i] == 0 ? null : statuses[i], latenciesUs[i] == 0 ? null : latenciesUs[i]);
        }
    }

    private Entry EntryFor(SummaryRow row, (string Protocol, string? Operation, string? Route) key, int requests)
    {
        var entry = _last is { } last && ReferenceEquals(last.Summary, row) && last.Key.Equals(key) ? last : Find(row, key, requests);
        _last = entry;
        return entry;
    }

    private Entry Find(SummaryRow row, (string Protocol, string? Operation, string? Route) key, int requests)
    {
        if (!_byRow.TryGetValue(row, out var routes))
        {
            routes = [];
            _byRow[row] = routes;
        }
        if (routes.TryGetValue(key, out var entry))
        {
            return entry;
        }
        if (routes.Count >= MaxRoutesPerRow)
        {
            Folded += requests;
            key = (key.Protocol, key.Operation, Other);
            if (routes.TryGetValue(key, out entry))
            {
                return entry;
            }
        }
        entry = NewEntry(row, key);
        routes[key] = entry;
        return entry;
    }

    // Index 0 holds codes outside 100-599.
    private static readonly string[] StatusClasses = ["other", "1xx", "2xx", "3xx", "4xx", "5xx"];

    private static Entry NewEntry(SummaryRow row, (string Protocol, string? Operation, string? Route) key) => new(row, key, new RouteRow
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
                entry.Row.Statuses.Clear();
                for (int c = 0; c < entry.StatusCounts.Length; c++)
                {
                    if (entry.StatusCounts[c] > 0)
                    {
                        entry.Row.Statuses[StatusClasses[c]] = entry.StatusCounts[c];
                    }
                }
                rows.Add(entry.Row);
            }
        }
        return rows.OrderBy(r => r.Pid).ThenBy(r => r.Role, StringComparer.Ordinal).ThenBy(r => r.Endpoint.ToString(), StringComparer.Ordinal)
            .ThenByDescending(r => r.Requests).ThenBy(r => r.Route, StringComparer.Ordinal).ToList();
    }

    private sealed class Entry(SummaryRow summary, (string Protocol, string? Operation, string? Route) key, RouteRow row)
    {
        public SummaryRow Summary { get; } = summary;

        public (string Protocol, string? Operation, string? Route) Key { get; } = key;

        public RouteRow Row { get; } = row;

        public LatencyHistogram Latencies { get; } = new();

        public long[] StatusCounts { get; } = new long[6];

        /// <param name="requestUnseen">Only the answer was seen: no latency, and not unanswered either.</param>
        public void Answer(int? status, long? latencyUs, bool requestUnseen = false)
        {
            if (status is int code)
            {
                StatusCounts[code is >= 100 and < 600 ? code / 100 : 0]++;
            }
            if (latencyUs is long us)
            {
                Latencies.RecordUs(us);
            }
            else if (!requestUnseen)
            {
                Row.Unanswered++;
            }
        }
    }
}
