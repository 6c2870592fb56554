using System.Diagnostics;
using System.Diagnostics.Metrics;
using Tattle.Records;

namespace Tattle.Agent;

/// <summary>
/// The agent's instruments (System.Diagnostics.Metrics, exported by the OpenTelemetry SDK to Prometheus and OTLP),
/// named after the OpenTelemetry semantic conventions where one exists (http.*, db.*, dns.*) and tattle.* where
/// none does. Every recording goes through its instrument's <see cref="SeriesLimiter"/>.
/// </summary>
public sealed class AgentMetrics : IDisposable
{
    public const string MeterName = "tattle.agent";

    // The semantic conventions' advice for request durations, in seconds.
    private static readonly double[] DurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private readonly Meter _meter;
    private readonly List<SeriesLimiter> _limiters = [];
    private readonly int _maxSeries;
    private readonly Capped<Counter<long>> _opened, _failed, _closed, _io, _lost;
    private readonly Capped<Histogram<double>> _requests, _httpClient, _httpServer, _db, _dns;

    public AgentMetrics(int maxSeries, Func<AgentCounters> counters)
    {
        _meter = new Meter(MeterName, typeof(AgentMetrics).Assembly.GetName().Version?.ToString(3));
        _maxSeries = maxSeries;
        _opened = Counter("tattle.connection.opened", "{connection}", "Connections established (TCP) or first used (UDP, Unix).");
        _failed = Counter("tattle.connection.failed", "{connection}", "Connection attempts that failed; error.type is the errno name.");
        _closed = Counter("tattle.connection.closed", "{connection}", "Connections closed.");
        _io = Counter("tattle.network.io", "By", "Bytes of closed connections, by network.io.direction (transmit, receive).");
        _lost = Counter("tattle.events.lost", "{event}", "Events the kernel or the capture could not deliver, by tattle.loss.where.");
        _requests = Histogram("tattle.request.duration", "Request/response exchanges of every protocol, from the request's first byte to the response's last.");
        _httpClient = Histogram("http.client.request.duration", "Duration of HTTP client requests.");
        _httpServer = Histogram("http.server.request.duration", "Duration of HTTP server requests.");
        _db = Histogram("db.client.operation.duration", "Duration of database client operations.");
        _dns = Histogram("dns.lookup.duration", "Duration of DNS lookups; error.type is the response code of a failed one.");
        _meter.CreateObservableCounter("tattle.metric.series.folded", () => Folded, "{measurement}",
            "Measurements folded into the other series because their metric had reached the series cap.");
        _meter.CreateObservableCounter("tattle.spans.exported", () => counters().SpansExported, "{span}", "Spans the OTLP receiver accepted.");
        _meter.CreateObservableCounter("tattle.spans.dropped", () => counters().SpansDropped, "{span}",
            "Spans dropped: the export queue was full, an export failed, or the agent was over its memory cap.");
        _meter.CreateObservableGauge("tattle.processes.traced", () => counters().ProcessesTraced, "{process}", "Processes the agent traces now.");
    }

    private Capped<Counter<long>> Counter(string name, string unit, string description) =>
        new(_meter.CreateCounter<long>(name, unit, description), Cap());

    private Capped<Histogram<double>> Histogram(string name, string description) =>
        new(_meter.CreateHistogram(name, "s", description, tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets }), Cap());

    private SeriesLimiter Cap()
    {
        var cap = new SeriesLimiter(_maxSeries);
        _limiters.Add(cap);
        return cap;
    }

    /// <summary>Over the memory cap the agent makes no new series (measurements fold) and no spans.</summary>
    public bool Shedding { get; set; }

    public void ConnectionOpened(TagList tags) => Count(_opened, 1, tags);

    public void ConnectionFailed(TagList tags) => Count(_failed, 1, tags);

    public void ConnectionClosed(TagList tags, ulong sent, ulong received)
    {
        Count(_closed, 1, tags);
        Transferred(tags, sent, received);
    }

    /// <summary>Bytes a socket moved with one peer (an unconnected datagram socket's close tells them per peer).</summary>
    public void Transferred(TagList tags, ulong sent, ulong received)
    {
        if (sent > 0)
        {
            var t = tags;
            t.Add("network.io.direction", "transmit");
            Count(_io, (long)sent, t);
        }
        if (received > 0)
        {
            var t = tags;
            t.Add("network.io.direction", "receive");
            Count(_io, (long)received, t);
        }
    }

    public void Lost(long count, string where) => Count(_lost, count, new TagList { { "tattle.loss.where", where } });

    /// <summary>An exchange's duration into the generic histogram and its family's semantic-convention one.</summary>
    public void Exchange(ExchangeKind kind, bool server, double seconds, TagList generic, TagList family)
    {
        Record(_requests, seconds, generic);
        switch (kind)
        {
            case ExchangeKind.Http:
                Record(server ? _httpServer : _httpClient, seconds, family);
                break;
            case ExchangeKind.Database when !server:
                Record(_db, seconds, family);
                break;
            case ExchangeKind.Dns when !server:
                Record(_dns, seconds, family);
                break;
        }
    }

    private void Count(Capped<Counter<long>> counter, long value, TagList tags)
    {
        counter.Cap.Admit(ref tags, Shedding);
        counter.Instrument.Add(value, tags);
    }

    private void Record(Capped<Histogram<double>> histogram, double value, TagList tags)
    {
        histogram.Cap.Admit(ref tags, Shedding);
        histogram.Instrument.Record(value, tags);
    }

    /// <summary>Measurements folded into <c>other</c>, all metrics together.</summary>
    public long Folded => _limiters.Sum(l => l.Folded);

    public void Dispose() => _meter.Dispose();
}

/// <summary>An instrument and the cap on its series.</summary>
internal readonly record struct Capped<TInstrument>(TInstrument Instrument, SeriesLimiter Cap);

/// <summary>Counts the metrics report that other parts of the agent keep.</summary>
public readonly record struct AgentCounters(long SpansExported, long SpansDropped, int ProcessesTraced);
