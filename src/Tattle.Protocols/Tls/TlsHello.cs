namespace Tattle.Protocols.Tls;

/// <summary>What a ClientHello offers: SNI, ALPN protocols, and the highest version (RFC 8446 §4.1.2).</summary>
internal sealed record ClientHello(string? Sni, IReadOnlyList<string> Alpn, ushort Version);

/// <summary>What a ServerHello chose (RFC 8446 §4.1.3); <see cref="IsRetry"/> marks a HelloRetryRequest.</summary>
internal readonly record struct ServerHello(ushort Version, ushort CipherSuite, string? Alpn, bool IsRetry);

/// <summary>Reads the two hellos, the handshake messages that travel in clear.</summary>
internal static class TlsHello
{
    public const byte ClientHelloType = 1;
    public const byte ServerHelloType = 2;

    // Extension numbers (IANA TLS ExtensionType registry).
    private const int ServerName = 0;             // RFC 6066 §3
    private const int Alpn = 16;                  // RFC 7301 §3.1
    private const int SupportedVersions = 43;     // RFC 8446 §4.2.1

    // RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello whose random is SHA-256("HelloRetryRequest").
    private static ReadOnlySpan<byte> HelloRetryRandom =>
    [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ];

    /// <summary>Reads a ClientHello's body (after the 4-byte handshake header); null if its framing is broken.</summary>
    public static ClientHello? ReadClientHello(ReadOnlySpan<byte> body)
    {
        var r = new TlsReader(body);
        if (!r.TryU16(out int legacyVersion) || !r.TryBytes(32, out _)
            || !r.TryVector8(out var sessionId) || sessionId.Length > 32
            || !r.TryVector16(out var suites) || suites.Length < 2 || suites.Length % 2 != 0
            || !r.TryVector8(out var compression) || compression.IsEmpty)
        {
            return null;
        }
        string? sni = null;
        IReadOnlyList<string>? alpn = null;
        ushort? version = null;
        if (!TryExtensions(ref r, out var e))
        {
            return null;
        }
        while (!e.IsEmpty)
        {
            if (!e.TryExtension(out int type, out var data))
            {
                return null;
            }
            // A malformed extension body costs that field only; the first of a repeated extension counts.
            switch (type)
            {
                case ServerName when sni is null:
                    sni = ReadServerName(data);
                    break;
                case Alpn when alpn is null:
                    alpn = ReadAlpnList(data);
                    break;
                case SupportedVersions when version is null:
                    version = HighestVersion(data);
                    break;
            }
        }
        return new ClientHello(sni, alpn ?? [], version ?? (ushort)legacyVersion);
    }

    /// <summary>Reads a ServerHello's body; null if its framing is broken.</summary>
    public static ServerHello? ReadServerHello(ReadOnlySpan<byte> body)
    {
        var r = new TlsReader(body);
        if (!r.TryU16(out int legacyVersion) || !r.TryBytes(32, out var random)
            || !r.TryVector8(out var sessionId) || sessionId.Length > 32
            || !r.TryU16(out int cipherSuite) || !r.TryU8(out _))
        {
            return null;
        }
        int version = legacyVersion;
        string? alpn = null;
        if (!TryExtensions(ref r, out var e))
        {
            return null;
        }
        while (!e.IsEmpty)
        {
            if (!e.TryExtension(out int type, out var data))
            {
                return null;
            }
            var d = new TlsReader(data);
            switch (type)
            {
                // The chosen version replaces legacy_version, which TLS 1.3 freezes at 0x0303 (RFC 8446 §4.2.1).
                case SupportedVersions when d.TryU16(out int chosen) && d.IsEmpty:
                    version = chosen;
                    break;
                // RFC 7301 §3.1: the server answers with a list of exactly one protocol.
                case Alpn when ReadAlpnList(data) is [var only]:
                    alpn = only;
                    break;
            }
        }
        return new ServerHello((ushort)version, (ushort)cipherSuite, alpn, random.SequenceEqual(HelloRetryRandom));
    }

    /// <summary>
    /// The extensions block that ends a hello (RFC 8446 §4.2): a 2-byte-length list filling the rest of the
    /// message, or nothing at all before TLS 1.2 (RFC 5246 §7.4.1.2), read as an empty list.
    /// </summary>
    private static bool TryExtensions(ref TlsReader hello, out TlsReader extensions)
    {
        extensions = default;
        if (hello.IsEmpty)
        {
            return true;
        }
        if (!hello.TryVector16(out var block) || !hello.IsEmpty)
        {
            return false;
        }
        extensions = new TlsReader(block);
        return true;
    }

    /// <summary>"SSL 3.0" … "TLS 1.3"; others as hex ("0x7F1C").</summary>
    public static string VersionName(ushort version) => version switch
    {
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => $"0x{version:X4}",
    };

    /// <summary>RFC 8701 §2: GREASE values are 0x?A?A with both bytes equal.</summary>
    public static bool IsGrease(int value) => (value & 0x0F0F) == 0x0A0A && (value >> 8) == (value & 0xFF);

    // RFC 6066 §3: ServerNameList of (name_type, HostName); host_name is type 0, and only one is allowed.
    private static string? ReadServerName(ReadOnlySpan<byte> data)
    {
        var r = new TlsReader(data);
        if (!r.TryVector16(out var list))
        {
            return null;
        }
        var l = new TlsReader(list);
        while (l.TryU8(out int nameType) && l.TryVector16(out var name))
        {
            if (nameType == 0 && !name.IsEmpty)
            {
                return TlsText.Printable(name);
            }
        }
        return null;
    }

    // RFC 7301 §3.1: ProtocolNameList of non-empty ProtocolNames.
    private static IReadOnlyList<string>? ReadAlpnList(ReadOnlySpan<byte> data)
    {
        var r = new TlsReader(data);
        if (!r.TryVector16(out var list) || !r.IsEmpty)
        {
            return null;
        }
        var names = new List<string>(4);
        var l = new TlsReader(list);
        while (!l.IsEmpty)
        {
            if (!l.TryVector8(out var name) || name.IsEmpty)
            {
                return null;
            }
            names.Add(TlsText.Protocol(name));
        }
        return names;
    }

    // RFC 8446 §4.2.1: versions<2..254> in the ClientHello. The highest known one wins; GREASE is skipped.
    private static ushort? HighestVersion(ReadOnlySpan<byte> data)
    {
        var r = new TlsReader(data);
        if (!r.TryVector8(out var list) || !r.IsEmpty || list.Length % 2 != 0)
        {
            return null;
        }
        int best = -1;
        int bestOther = -1;
        var l = new TlsReader(list);
        while (l.TryU16(out int v))
        {
            if (IsGrease(v))
            {
                continue;
            }
            if (v is >= 0x0300 and <= 0x0304)
            {
                best = Math.Max(best, v);
            }
            else
            {
                bestOther = Math.Max(bestOther, v);
            }
        }
        int chosen = best >= 0 ? best : bestOther;
        return chosen >= 0 ? (ushort)chosen : null;
    }
}
