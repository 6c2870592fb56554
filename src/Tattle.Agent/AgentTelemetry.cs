using System.Net;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Tattle.Output.Otlp;

namespace Tattle.Agent;

/// <summary>
/// Where the agent's telemetry goes: the OpenTelemetry SDK's meter provider (a Prometheus scrape endpoint and an
/// OTLP metric push), the OTLP span exporter, and /healthz and /readyz beside /metrics on the listen address.
/// </summary>
public sealed class AgentTelemetry : IDisposable
{
    private readonly MeterProvider? _meters;
    private readonly HttpListener? _health;
    private readonly Thread? _healthThread;
    private long _heartbeatMs = Environment.TickCount64;
    private readonly ProcessSelectionCounts _counts;
    private volatile bool _ready;

    public AgentTelemetry(AgentConfig config, ProcessSelectionCounts counts)
    {
        Spans = config.Otlp is { Traces: true } o
            ? new OtlpSpanExporter(
                new Tattle.Output.Otlp.OtlpExporterOptions
                {
                    Endpoint = o.Endpoint,
                    Protocol = o.Protocol == "grpc" ? OtlpProtocol.Grpc : OtlpProtocol.HttpProtobuf,
                    MaxQueueSize = config.MaxQueue,
                    Headers = o.Headers,
                },
                "tattle",
                typeof(AgentTelemetry).Assembly.GetName().Version?.ToString(3))
            : null;
        _counts = counts;
        Metrics = new AgentMetrics(config.MaxSeries, () => new AgentCounters(Spans?.Exported ?? 0, SpansDropped, counts.Traced()));
        var builder = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty()
                .AddService(config.ServiceName, serviceInstanceId: Environment.MachineName)
                .AddAttributes([new("host.name", Environment.MachineName)]))
            .AddMeter(AgentMetrics.MeterName)
            // Above the agent's own cap, so that the SDK never folds what the agent already bounded.
            .AddView(_ => new MetricStreamConfiguration { CardinalityLimit = config.MaxSeries + 64 });
        if (config.Listen is { } listen)
        {
            string prefix = Prefix(listen);
            var uri = new Uri(prefix.Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal));
            builder.AddPrometheusHttpListener(p =>
            {
                // The exporter makes its prefix from Host and Port, a URI's, where "every address" ('*') is no host
                // (it threw at start): the listener is given the prefix the health endpoints use instead.
                p.Host = "localhost";
                p.Port = uri.Port;
                p.ScrapeEndpointPath = "/metrics";
                p.ConfigureHttpListener = (_, listener) =>
                {
                    listener.Prefixes.Clear();
                    listener.Prefixes.Add(prefix + "metrics/");
                };
            });
            _health = new HttpListener();
            _health.Prefixes.Add(prefix + "healthz/");
            _health.Prefixes.Add(prefix + "readyz/");
        }
        if (config.Otlp is { Metrics: true } m)
        {
            builder.AddOtlpExporter((exporter, reader) =>
            {
                bool grpc = m.Protocol == "grpc";
                exporter.Protocol = grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
                // The SDK takes an http/protobuf endpoint as the full URL: the signal's path is ours to add.
                exporter.Endpoint = grpc ? m.Endpoint : SignalUri(m.Endpoint, "v1/metrics");
                exporter.Headers = string.Join(',', m.Headers.Select(h => $"{h.Key}={h.Value}"));
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)m.Interval.TotalMilliseconds;
                reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
            });
        }
        _meters = builder.Build();
        if (_health is not null)
        {
            _health.Start();
            _healthThread = new Thread(ServeHealth) { IsBackground = true, Name = "tattle-agent-health" };
            _healthThread.Start();
        }
    }

    public AgentMetrics Metrics { get; }

    public OtlpSpanExporter? Spans { get; }

    /// <summary>Spans lost: refused by a full queue, in a failed or partly rejected export, or not made over the memory cap.</summary>
    public long SpansDropped => (Spans?.Dropped ?? 0) + (Spans?.FailedSpans ?? 0) + _counts.Shed();

    /// <summary>The trace loop is alive: /healthz answers 200 while this is called at least every 10 s.</summary>
    public void Heartbeat() => Volatile.Write(ref _heartbeatMs, Environment.TickCount64);

    /// <summary>The programs are loaded and the targets chosen: /readyz answers 200 from now on.</summary>
    public void Ready() => _ready = true;

    /// <summary>An http/protobuf endpoint with the signal's path: kept when given, appended otherwise.</summary>
    public static Uri SignalUri(Uri endpoint, string signalPath)
    {
        string path = endpoint.AbsolutePath.TrimEnd('/');
        return path.EndsWith("/" + signalPath, StringComparison.Ordinal) ? endpoint : new Uri(endpoint, path + "/" + signalPath);
    }

    /// <summary>HttpListener's prefix for HOST:PORT; 0.0.0.0 and :: listen on every address.</summary>
    public static string Prefix(string listen)
    {
        int colon = listen.LastIndexOf(':');
        string host = listen[..colon], port = listen[(colon + 1)..];
        host = host is "0.0.0.0" or "[::]" or "::" or "*" ? "*" : host;
        return $"http://{host}:{port}/";
    }

    private void ServeHealth()
    {
        while (_health is { IsListening: true })
        {
            HttpListenerContext ctx;
            try
            {
                ctx = _health.GetContext();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            try
            {
                string path = ctx.Request.Url?.AbsolutePath.TrimEnd('/') ?? "";
                bool alive = Environment.TickCount64 - Volatile.Read(ref _heartbeatMs) < 10_000;
                (int status, string body) = path switch
                {
                    "/healthz" => alive ? (200, "ok\n") : (503, "the trace loop has not run for 10 s\n"),
                    "/readyz" => _ready && alive ? (200, "ready\n") : (503, _ready ? "the trace loop has not run for 10 s\n" : "starting\n"),
                    _ => (404, "not found\n"),
                };
                var bytes = Encoding.UTF8.GetBytes(body);
                ctx.Response.StatusCode = status;
                ctx.Response.ContentType = "text/plain; charset=utf-8";
                ctx.Response.ContentLength64 = bytes.Length;
                ctx.Response.OutputStream.Write(bytes);
                ctx.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The client went away: nothing to answer.
            }
        }
    }

    /// <summary>Pushes what is pending (the last metrics and spans) within the timeout.</summary>
    public void Flush(TimeSpan timeout)
    {
        Spans?.Flush(timeout);
        _meters?.ForceFlush((int)timeout.TotalMilliseconds);
    }

    public void Dispose()
    {
        try
        {
            _health?.Stop();
            _health?.Close();
        }
        catch (ObjectDisposedException)
        {
        }
        Spans?.Dispose();
        _meters?.Dispose();
        Metrics.Dispose();
    }
}

/// <summary>What the metrics read from the selection and the sink, which are made after the telemetry.</summary>
public sealed class ProcessSelectionCounts
{
    public Func<int> Traced { get; set; } = () => 0;

    public Func<long> Shed { get; set; } = () => 0;
}
