using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Protocols.Tls;

/// <summary>What the TLS handshake says in clear: the ClientHello's offer and the ServerHello's choice.</summary>
public sealed record TlsHandshake : ProtocolMessage
{
    /// <summary>The server_name extension of the ClientHello.</summary>
    public string? Sni { get; init; }

    /// <summary>ALPN protocols the client offered ("h2", "http/1.1").</summary>
    public IReadOnlyList<string> OfferedAlpn { get; init; } = [];

    /// <summary>The highest version the client offered ("TLS 1.3").</summary>
    public string? ClientVersion { get; init; }

    /// <summary>The version the server chose (supported_versions when present), null without a ServerHello.</summary>
    public string? Version { get; init; }

    /// <summary>
    /// The ALPN protocol the server chose, when it says so in clear: in the ServerHello up to TLS 1.2; TLS 1.3
    /// moves the answer into the encrypted EncryptedExtensions (RFC 8446 §4.3.1), so it is null there.
    /// </summary>
    public string? Alpn { get; init; }

    /// <summary>The cipher suite the server chose, as its IANA number.</summary>
    public ushort? CipherSuite { get; init; }

    /// <summary>The server first asked the client to retry with another key share (HelloRetryRequest, RFC 8446 §4.1.4).</summary>
    public bool HelloRetry { get; init; }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        if (Sni is { Length: > 0 } sni)
        {
            context.NameServer(sni, HostSource.Sni);
            context.SetSni(sni);
        }
        return new TlsHandshakeRecord(context.Header(StartNs))
        {
            LatencyMs = Version is not null ? IMessageContext.Latency(StartNs, EndNs) : null,
            Sni = Sni,
            Alpn = Alpn,
            AlpnOffered = OfferedAlpn,
            Version = Version ?? ClientVersion,
            HelloRetry = HelloRetry,
        };
    }
}
