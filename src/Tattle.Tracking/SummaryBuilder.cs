using Tattle.Capture.Events;
using Tattle.Records;
using Tattle.Tracking.Connections;

namespace Tattle.Tracking;

/// <summary>
/// Aggregates finished connections into summary rows, one per (process, protocol, role, endpoint): for clients the
/// remote endpoint, for servers the local one (so a server's thousands of clients make one row). Connections are
/// folded in as they end, so memory stays bounded however many there are. Requests are folded in as they are
/// parsed: a row's latencies go into a histogram (HdrHistogram, 2 significant digits: about 13 KB a row that has
/// requests) that gives its p50 and p99.
/// </summary>
public sealed class SummaryBuilder
{
    private readonly Dictionary<(int Pid, string Proto, string Role, string Endpoint), SummaryRow> _rows = [];
    private readonly Dictionary<SummaryRow, LatencyHistogram> _latencies = new(ReferenceEqualityComparer.Instance);

    /// <summary>--stats: requests are also counted per operation and route here; null otherwise.</summary>
    public RouteTable? Routes { get; init; }

    public void AddConnection(Connection conn, string comm)
    {
        string role = conn.Role ?? "client";
        if (conn.Peers is { Count: > 0 } peers && role != "server")
        {
            // An unconnected datagram client: a row per peer it talked to, with that peer's bytes.
            foreach (var (peer, traffic) in peers)
            {
                Count(Row(conn.Pid, comm, conn.Proto, role, RecordWriter.ToEndpoint(peer)!), 1, traffic.BytesSent, traffic.BytesRecv);
            }
            return;
        }
        // A server's unconnected datagram socket puts its clients (a DNS server's thousands of ports) in the one row of
        // its own address, each peer counted as a connection, with the socket's totals: they hold the datagrams whose
        // sender was not known (--no-syscalls).
        Count(Row(conn.Pid, comm, conn.Proto, role, EndpointOf(conn, role)), conn.Peers is { Count: > 0 } clients ? clients.Count : 1, conn.BytesSent, conn.BytesRecv);

        void Count(SummaryRow row, int connections, ulong sent, ulong received)
        {
            row.Connections += connections;
            if (conn.AppProtocol is { } app)
            {
                row.Protocols.Add(app);
            }
            row.BytesSent += sent;
            row.BytesRecv += received;
        }
    }

    public void AddFailure(Connection conn, string comm, string error)
    {
        string role = conn.Role ?? "client";
        var row = Row(conn.Pid, comm, conn.Proto, role, EndpointOf(conn, role));
        row.Errors[error] = row.Errors.GetValueOrDefault(error) + 1;
    }

    /// <summary>
    /// Counts a request in the row of its connection (of its peer, on an unconnected datagram socket): its latency,
    /// or, without a response, as unanswered.
    /// </summary>
    public void AddMessage(Connection conn, string comm, MessageRecord record)
    {
        if (!record.IsRequest)
        {
            return;
        }
        string role = conn.Role ?? "client";
        var endpoint = conn.Peers is { Count: > 0 } && role != "server" && record.Remote is { } peer ? peer : EndpointOf(conn, role);
        // The connection's endpoint is one instance while it stays the same: its row is found without a key string.
        SummaryRow row;
        LatencyHistogram? latencies = null;
        if (conn.SummaryRow is { } last && ReferenceEquals(last.Endpoint, endpoint) && last.Role == role && last.Proto == conn.Proto)
        {
            row = last.Row;
            latencies = last.Latencies;
        }
        else
        {
            row = Row(conn.Pid, comm, conn.Proto, role, endpoint);
            conn.SummaryRow = (row, endpoint, role, conn.Proto, null);
        }
        row.Requests++;
        Routes?.Add(row, record);
        if (record.ErrorType is { } error)
        {
            CountError(row, error);
        }
        if (record.LatencyMs is not double ms)
        {
            if (!record.RequestUnseen)
            {
                row.Unanswered++;
            }
            return;
        }
        if (latencies is null)
        {
            // Kept with the row on the connection: found again without the table, one request after another.
            latencies = LatenciesOf(row);
            conn.SummaryRow = (row, endpoint, role, conn.Proto, latencies);
        }
        latencies.RecordMs(ms);
    }

    /// <summary>
    /// Counts requests the kernel counted (--stats-in-kernel) in the row of their connection: by the connection
    /// when it is still known, else by the addresses the record carries (it may come after the connection's close).
    /// </summary>
    public void AddCounted(Connection? conn, string comm, in HttpCountsEvent e)
    {
        string role = e.RequestsReceived ? "server" : "client";
        var endpoint = conn is not null ? EndpointOf(conn, role)
            : RecordWriter.ToEndpoint(e.RequestsReceived ? e.Local : e.Remote) ?? new Endpoint(null, null);
        var row = Row(e.Pid, comm, "tcp", role, endpoint);
        var (method, route) = KernelHttpHead.MethodAndRoute(e.Head);
        if (method is null)
        {
            return; // bytes after a response with no request seen: they are in the connection's counts
        }
        row.Protocols.Add("http");
        row.Requests += e.Statuses.Length;
        foreach (ushort status in e.Statuses)
        {
            if (StatusClass.HttpErrorType(status, server: e.RequestsReceived) is { } error)
            {
                CountError(row, error);
            }
        }
        Routes?.AddCounted(row, "http", method, route, e.Statuses, e.LatenciesUs, e.RequestBytes, e.ResponseBytes);
        foreach (uint us in e.LatenciesUs)
        {
            if (us == 0)
            {
                row.Unanswered++;
                continue;
            }
            LatenciesOf(row).RecordUs(us);
        }
    }

    private static void CountError(SummaryRow row, string error) =>
        row.RequestErrors[error] = row.RequestErrors.GetValueOrDefault(error) + 1;

    private LatencyHistogram LatenciesOf(SummaryRow row)
    {
        if (!_latencies.TryGetValue(row, out var latencies))
        {
            latencies = new LatencyHistogram();
            _latencies[row] = latencies;
        }
        return latencies;
    }

    public IReadOnlyList<SummaryRow> Rows()
    {
        foreach (var (row, latencies) in _latencies)
        {
            row.P50Ms = latencies.PercentileMs(50);
            row.P99Ms = latencies.PercentileMs(99);
        }
        return _rows.Values.OrderBy(r => r.Pid).ThenBy(r => r.Role, StringComparer.Ordinal)
            .ThenBy(r => r.Proto, StringComparer.Ordinal).ThenBy(r => r.Endpoint.ToString(), StringComparer.Ordinal).ToList();
    }

    private static Endpoint EndpointOf(Connection conn, string role)
    {
        var ep = role == "server" ? RecordWriter.LocalEndpoint(conn) : RecordWriter.RemoteEndpoint(conn);
        return ep ?? new Endpoint(null, null);
    }

    private SummaryRow Row(int pid, string comm, string proto, string role, Endpoint endpoint)
    {
        var key = (pid, proto, role, endpoint.ToString());
        if (!_rows.TryGetValue(key, out var row))
        {
            row = new SummaryRow { Pid = pid, Comm = comm, Proto = proto, Role = role, Endpoint = endpoint };
            _rows[key] = row;
        }
        else if (row.Endpoint.Host is null && endpoint.Host is not null)
        {
            row.Endpoint = endpoint; // a name learnt after the row's first connection (a failed one, say)
        }
        return row;
    }
}
