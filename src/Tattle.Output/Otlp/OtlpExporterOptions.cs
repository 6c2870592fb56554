namespace Tattle.Output.Otlp;

/// <summary>How spans travel to the collector: OTLP/gRPC or OTLP/HTTP with protobuf bodies.</summary>
public enum OtlpProtocol
{
    Grpc,
    HttpProtobuf,
}

/// <summary>Where and how <see cref="OtlpSpanExporter"/> sends spans, and how many it holds.</summary>
public sealed record OtlpExporterOptions
{
    /// <summary>
    /// The collector: http(s)://host:port (4317 for gRPC, 4318 for http/protobuf by convention). For http/protobuf
    /// a path ending in /v1/traces is used as is; any other path gets /v1/traces appended.
    /// </summary>
    public required Uri Endpoint { get; init; }

    public OtlpProtocol Protocol { get; init; } = OtlpProtocol.Grpc;

    /// <summary>Spans held before <see cref="OtlpSpanExporter.TryEnqueue"/> starts refusing (and counting) them.</summary>
    public int MaxQueueSize { get; init; } = 2048;

    /// <summary>Spans in one request at the most; a full batch goes out at once.</summary>
    public int MaxBatchSize { get; init; } = 512;

    /// <summary>How long a partial batch waits for more spans.</summary>
    public TimeSpan ScheduledDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Each request's limit (its retry included), and the limit of the flush on dispose.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Sent with every request (an API key, a tenant).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
}
