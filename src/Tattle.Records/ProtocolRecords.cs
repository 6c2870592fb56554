namespace Tattle.Records;

/// <summary>Fields shared by the records of parsed protocol messages: the connection they travelled on.</summary>
public abstract record MessageRecord : Record
{
    public required string Conn { get; init; }

    /// <summary>client or server, as seen by the traced process.</summary>
    public required string Role { get; init; }

    /// <summary>The other end of the connection (or of the datagram exchange), with its host name when known.</summary>
    public Endpoint? Remote { get; init; }

    /// <summary>Milliseconds from the request's first byte to the response's last; null without a response.</summary>
    public double? LatencyMs { get; init; }
}

/// <summary>An HTTP/1.x request with its response (either may be missing: see the fields' nullability).</summary>
public sealed record HttpRecord : MessageRecord
{
    public override string Type => "http";

    /// <summary>Read as TLS plaintext (uprobes) rather than from the socket.</summary>
    public bool Tls { get; init; }

    /// <summary>TLS: the server name of the connection's handshake, when it was seen.</summary>
    public string? Sni { get; init; }

    /// <summary>TLS plaintext whose socket was never found: the library's session object ("0x…") names it instead.</summary>
    public string? TlsSession { get; init; }

    public string? Method { get; init; }

    /// <summary>The request-target as sent, query string included (secrets redacted unless --no-redact).</summary>
    public string? Path { get; init; }

    public string? Host { get; init; }

    public string? Version { get; init; }

    public int? Status { get; init; }

    /// <summary>Head plus body bytes of the request as sent on the wire.</summary>
    public long? ReqBytes { get; init; }

    public long? RespBytes { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>>? ReqHeaders { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>>? RespHeaders { get; init; }

    /// <summary>The first body bytes, up to --body-limit (empty by default).</summary>
    public ReadOnlyMemory<byte> ReqBody { get; init; }

    public ReadOnlyMemory<byte> RespBody { get; init; }

    public string? ReqContentEncoding { get; init; }

    public string? RespContentEncoding { get; init; }

    /// <summary>The protocol the connection switched to after 101 (websocket, h2c).</summary>
    public string? Upgrade { get; init; }

    /// <summary>Interim responses before the final one (100).</summary>
    public IReadOnlyList<int> Interim { get; init; } = [];

    /// <summary>Body bytes counted but never seen (sendfile, lost events, snap length).</summary>
    public long UnseenBytes { get; init; }

    /// <summary>Trailer fields after a chunked body (request's and response's together).</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Trailers { get; init; }

    /// <summary>The end of a message was never seen (the connection closed first, or a gap hid it).</summary>
    public bool Truncated { get; init; }
}

/// <summary>One DNS answer as records show it.</summary>
public sealed record DnsAnswerRecord(string Name, string Type, uint Ttl, string Data);

/// <summary>A DNS query with its response (Rcode is null when no response came).</summary>
public sealed record DnsRecord : MessageRecord
{
    public override string Type => "dns";

    public required string Query { get; init; }

    public required string QType { get; init; }

    public string? Rcode { get; init; }

    public IReadOnlyList<DnsAnswerRecord> Answers { get; init; } = [];

    /// <summary>udp or tcp.</summary>
    public required string Transport { get; init; }

    public required int Id { get; init; }

    /// <summary>The server set TC (answer truncated), or the datagram seen was cut after its question.</summary>
    public bool Truncated { get; init; }
}

/// <summary>The clear part of a TLS handshake: the name asked for and what was agreed.</summary>
public sealed record TlsHandshakeRecord : MessageRecord
{
    public override string Type => "tls.handshake";

    public string? Sni { get; init; }

    /// <summary>The ALPN protocol the server chose, or null.</summary>
    public string? Alpn { get; init; }

    public IReadOnlyList<string> AlpnOffered { get; init; } = [];

    /// <summary>The version agreed ("TLS 1.3"), or the client's highest when no ServerHello was seen.</summary>
    public string? Version { get; init; }

    /// <summary>The server first answered with a HelloRetryRequest (RFC 8446 §4.1.4).</summary>
    public bool HelloRetry { get; init; }
}

/// <summary>Bytes of one direction of a connection that were never parsed: how many and why.</summary>
public sealed record GapRecord : Record
{
    public override string Type => "gap";

    public required string Conn { get; init; }

    /// <summary>send or recv.</summary>
    public required string Dir { get; init; }

    public required long Bytes { get; init; }

    /// <summary>lost, snaplen, unread, unseen, cap or resync.</summary>
    public required string Reason { get; init; }
}
