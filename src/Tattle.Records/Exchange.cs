namespace Tattle.Records;

/// <summary>Which family of OpenTelemetry semantic conventions an exchange belongs to.</summary>
public enum ExchangeKind
{
    Other,
    Http,
    Rpc,
    Database,
    Dns,
}

/// <summary>
/// A request/response exchange as telemetry sees it (the agent's spans and metrics). Each protocol's record
/// writes its own name, outcome and semantic-convention attributes here, so exporters hold no per-protocol code.
/// </summary>
public interface IExchangeWriter
{
    /// <summary>The family, the protocol's name ("http", "grpc", "postgresql") and a low-cardinality span name.</summary>
    void Describe(ExchangeKind kind, string protocol, string spanName);

    /// <summary>
    /// How it ended: a status class ("2xx", "4xx", "ok", "error", or "none" without an answer) and, for a failure,
    /// the semantic conventions' <c>error.type</c> (the status code, the rcode, the SQLSTATE).
    /// </summary>
    void Outcome(string statusClass, string? errorType);

    /// <summary>A semantic-convention attribute (<c>http.request.method</c>, <c>db.system.name</c>…).</summary>
    void Attribute(string key, string value);

    void Attribute(string key, long value);
}
