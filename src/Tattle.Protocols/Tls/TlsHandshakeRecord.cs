using System.Text.Json;
using Tattle.Records;
using Tattle.Records.Json;
using Tattle.Records.Live;

namespace Tattle.Protocols.Tls;

/// <summary>The clear part of a TLS handshake: the name asked for and what was agreed.</summary>
public sealed record TlsHandshakeRecord : MessageRecord
{
    /// <summary>A per-connection record, not a request.</summary>
    public override bool IsRequest => false;

    public TlsHandshakeRecord()
    {
    }

    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public TlsHandshakeRecord(in MessageHeader header)
        : base(in header)
    {
    }

    public override string Type => "tls.handshake";

    public string? Sni { get; init; }

    /// <summary>The ALPN protocol the server chose, or null.</summary>
    public string? Alpn { get; init; }

    public IReadOnlyList<string> AlpnOffered { get; init; } = [];

    /// <summary>The version agreed ("TLS 1.3"), or the client's highest when no ServerHello was seen.</summary>
    public string? Version { get; init; }

    /// <summary>The server first answered with a HelloRetryRequest (RFC 8446 §4.1.4).</summary>
    public bool HelloRetry { get; init; }

    public override void WriteFields(Utf8JsonWriter w)
    {
        w.WriteString(Names.Sni, Sni);
        w.WriteString(Names.Alpn, Alpn);
        JsonFields.WriteStrings(w, Names.AlpnOffered, AlpnOffered);
        RecurringStrings.Write(w, JsonNames.Version, Version);
        w.WriteBoolean(Names.HelloRetry, HelloRetry);
    }

    /// <summary>"tls example.com TLS 1.3 h2 c3": the version and the protocol only when known (wget offers no ALPN).</summary>
    public override void Describe(LiveLine line)
    {
        line.Word(LiveStyle.Cyan, "tls").Space().Text(Sni ?? "(no sni)");
        if (Version is { Length: > 0 } version)
        {
            line.Space().Text(version);
        }
        string alpn = Alpn ?? string.Join(",", AlpnOffered);
        if (alpn.Length > 0)
        {
            line.Space().Text(alpn);
        }
        line.Conn(Conn);
    }

    private static class Names
    {
        public static readonly JsonEncodedText Alpn = JsonEncodedText.Encode("alpn");
        public static readonly JsonEncodedText AlpnOffered = JsonEncodedText.Encode("alpn_offered");
        public static readonly JsonEncodedText HelloRetry = JsonEncodedText.Encode("hello_retry");
        public static readonly JsonEncodedText Sni = JsonEncodedText.Encode("sni");
    }
}
