namespace Tattle.Output.Otlp;

/// <summary>A span's kind, with the values of OTLP's Span.SpanKind.</summary>
public enum OtlpSpanKind
{
    Internal = 1,
    Server = 2,
    Client = 3,
    Producer = 4,
    Consumer = 5,
}

/// <summary>A span's status code, with the values of OTLP's Status.StatusCode.</summary>
public enum OtlpStatusCode
{
    Unset = 0,
    Ok = 1,
    Error = 2,
}

/// <summary>
/// A process (or any producer) as an OTLP Resource: its attributes. Spans that share one instance share one
/// ResourceSpans in a request, so keep one instance per process rather than building one per span.
/// </summary>
public sealed class OtlpResource
{
    private byte[]? _encoded;

    /// <param name="attributes">Values are strings, integers, doubles or bools (others are sent as text).</param>
    public OtlpResource(IReadOnlyList<KeyValuePair<string, object>> attributes)
    {
        Attributes = [.. attributes];
    }

    public IReadOnlyList<KeyValuePair<string, object>> Attributes { get; }

    // A process lives for many batches: its Resource message is encoded once, not once a batch.
    internal byte[] Encoded => _encoded ??= OtlpSpanEncoder.Current.EncodeResource(this);
}

/// <summary>One finished span, as OTLP sends it.</summary>
public sealed record OtlpSpan
{
    /// <summary>16 bytes, not all zero.</summary>
    public required ReadOnlyMemory<byte> TraceId { get; init; }

    /// <summary>8 bytes, not all zero.</summary>
    public required ReadOnlyMemory<byte> SpanId { get; init; }

    /// <summary>8 bytes, or empty for a root span.</summary>
    public ReadOnlyMemory<byte> ParentSpanId { get; init; }

    public required string Name { get; init; }

    public OtlpSpanKind Kind { get; init; } = OtlpSpanKind.Internal;

    public long StartUnixNs { get; init; }

    public long EndUnixNs { get; init; }

    /// <summary>Values are strings, integers, doubles or bools (others are sent as text); null values are left out.</summary>
    public IReadOnlyList<KeyValuePair<string, object>> Attributes { get; init; } = [];

    public OtlpStatusCode Status { get; init; }

    public string? StatusMessage { get; init; }

    public required OtlpResource Resource { get; init; }

    /// <summary>Why the span cannot be encoded (an id of the wrong size or all zero), or null.</summary>
    public string? Invalid() =>
        !ValidId(TraceId.Span, 16) ? "trace id must be 16 bytes, not all zero"
        : !ValidId(SpanId.Span, 8) ? "span id must be 8 bytes, not all zero"
        : !ParentSpanId.IsEmpty && !ValidId(ParentSpanId.Span, 8) ? "parent span id must be empty or 8 bytes, not all zero"
        : null;

    private static bool ValidId(ReadOnlySpan<byte> id, int length) => id.Length == length && id.ContainsAnyExcept((byte)0);
}
