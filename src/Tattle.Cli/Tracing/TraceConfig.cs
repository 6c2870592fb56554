using Tattle.Tracking.Streams;

namespace Tattle.Cli.Tracing;

/// <summary>The options shared by run and attach, after parsing.</summary>
internal sealed record TraceConfig
{
    public string? JsonPath { get; init; }

    public bool Data { get; init; }

    public int Snaplen { get; init; }

    public string? OutputPath { get; init; }

    public bool Quiet { get; init; }

    public bool Verbose { get; init; }

    public int RingBufferBytes { get; init; }

    /// <summary>Reassembly and parsing: --proto, --body-limit, --no-redact, --stream-buffer, --no-parse.</summary>
    public StreamSettings Streams { get; init; } = new();
}
