using Tattle.Protocols.Common;

namespace Tattle.Protocols.Tls;

/// <summary>The TLS handshake: how to recognise it and how to make a parser (see README.md).</summary>
public static class TlsProtocol
{
    public static ProtocolInfo Info { get; } = new("tls", Probe, (options, sink) => new TlsParser(sink))
    {
        UpgradeTokens = ["tls"],
        TakeOver = (options, sink, change) => new TlsParser(sink),
    };

    /// <summary>
    /// A handshake record (content type 22, record version 3.0-3.4) whose first message is a ClientHello (the
    /// direction carries requests) or a ServerHello (responses); 6 bytes decide. Ports play no part: TLS runs on
    /// any. Datagrams are never TLS (DTLS has its own record format, RFC 9147 §4). An SSL 2.0-style ClientHello
    /// (first byte with the top bit set) is not recognised.
    /// </summary>
    public static Detection Probe(ReadOnlySpan<byte> data, bool datagram, int localPort, int remotePort)
    {
        if (datagram)
        {
            return Detection.No;
        }
        var check = TlsRecordHeader.Check(data, out _);
        if (check == TlsRecordCheck.Invalid || (data.Length > 0 && data[0] != TlsRecordHeader.Handshake))
        {
            return Detection.No;
        }
        if (check == TlsRecordCheck.Partial || data.Length < 6)
        {
            return Detection.NeedMoreData;
        }
        // When they have arrived: a hello is at least 38 bytes (RFC 8446 §4.1.2-3), its version is 3.x.
        if (data.Length >= 9)
        {
            int length = (data[6] << 16) | (data[7] << 8) | data[8];
            if (length < 38 || length > TlsParser.MaxHandshakeMessage)
            {
                return Detection.No;
            }
        }
        if (data.Length >= 10 && data[9] != 3)
        {
            return Detection.No;
        }
        return data[5] switch
        {
            TlsHello.ClientHelloType => Detection.Request,
            TlsHello.ServerHelloType => Detection.Response,
            _ => Detection.No,
        };
    }
}
