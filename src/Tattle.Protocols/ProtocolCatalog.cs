using Tattle.Protocols.Common;
using Tattle.Protocols.Dns;
using Tattle.Protocols.Http1;
using Tattle.Protocols.Http2;
using Tattle.Protocols.Memcached;
using Tattle.Protocols.MySql;
using Tattle.Protocols.Postgres;
using Tattle.Protocols.Redis;
using Tattle.Protocols.Tls;
using Tattle.Protocols.WebSocket;
using Tattle.Protocols.Zmtp;

namespace Tattle.Protocols;

/// <summary>The protocols Tattle recognises, in the order their probes are tried.</summary>
public sealed class ProtocolCatalog(IReadOnlyList<ProtocolInfo> protocols)
{
    /// <summary>
    /// Every protocol Tattle has a parser for. TLS first: its 0x16 0x03 start is the most specific; HTTP/2 last, as
    /// its mid-connection probe (whole frames) is the least.
    /// </summary>
    public static ProtocolCatalog Default { get; } = new([
        TlsProtocol.Info,
        Http1Protocol.Info,
        DnsProtocol.Info,
        RedisProtocol.Info,
        PostgresProtocol.Info,
        MySqlProtocol.Info,
        ZmtpProtocol.Info,
        MemcachedProtocol.Info,
        WebSocketProtocol.Info,
        Http2Protocol.Info,
    ]);

    public IReadOnlyList<ProtocolInfo> Protocols => protocols;

    /// <summary>The protocol of that name, or null.</summary>
    public ProtocolInfo? Find(string name) =>
        protocols.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)
            || p.Aliases.Contains(name, StringComparer.OrdinalIgnoreCase));

    /// <summary>The protocol that takes a connection over after it switched with <paramref name="token"/>, or null.</summary>
    public ProtocolInfo? ForUpgrade(string token) =>
        protocols.FirstOrDefault(p => p.TakeOver is not null && p.UpgradeTokens.Contains(token, StringComparer.OrdinalIgnoreCase));

    /// <summary>
    /// Probes the first bytes of a direction with every protocol: the first that claims them wins. Detection is
    /// <see cref="Detection.NeedMoreData"/> while any probe needs more bytes and none has claimed them.
    /// </summary>
    public (ProtocolInfo? Protocol, Detection Detection) Detect(
        ReadOnlySpan<byte> data, bool datagram, int localPort, int remotePort)
    {
        bool needMore = false;
        foreach (var p in protocols)
        {
            var d = p.Probe(data, datagram, localPort, remotePort);
            if (d is Detection.Request or Detection.Response)
            {
                return (p, d);
            }
            needMore |= d == Detection.NeedMoreData;
        }
        return (null, needMore ? Detection.NeedMoreData : Detection.No);
    }
}
