using Tattle.Capture.Events;
using Tattle.Protocols.Common;
using Tattle.Protocols.Dns;
using Tattle.Protocols.Http1;
using Tattle.Protocols.Tls;
using Tattle.Records;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Tls;

namespace Tattle.Tracking.Streams;

/// <summary>
/// Turns what one connection's decoder reports into records: http, dns, tls.handshake and gap. With a TLS session,
/// the decoder parses that session's plaintext: records say tls, and name the socket's connection once it is known.
/// </summary>
internal sealed class MessageRecorder(TraceSession session, Connection socketConn, TlsSessionStream? tls = null) : IDecoderEvents
{
    private Connection Current => tls?.RecordConnection ?? socketConn;

    // The connection's protocol reads as what its plaintext carries, over TLS.
    public void OnProtocol(string protocol) =>
        Current.AppProtocol = tls is null ? protocol : protocol == "http" ? "https" : protocol + "/tls";

    public void OnGap(Direction direction, long bytes, GapReason reason)
    {
        session.WriteRecord(new GapRecord
        {
            TimestampNs = session.Now(),
            Pid = Current.Pid,
            Comm = session.Processes.CommOf(Current.Pid),
            Conn = Current.Id,
            Dir = direction == Direction.Send ? "send" : "recv",
            Bytes = bytes,
            Reason = GapReasons.Name(reason),
        });
    }

    public void OnMessage(ProtocolMessage message)
    {
        MessageRecord? record = message switch
        {
            HttpExchange x => Http(x),
            DnsExchange x => Dns(x),
            TlsHandshake x => Tls(x),
            _ => null,
        };
        if (record is not null)
        {
            session.WriteRecord(record);
        }
    }

    private HttpRecord Http(HttpExchange x)
    {
        var req = x.Request;
        var resp = x.Response;
        if (req?.Host is { Length: > 0 } host)
        {
            NameRemote(StripPort(host));
        }
        return new HttpRecord
        {
            TimestampNs = session.ToUnixNs(x.StartNs),
            Pid = Current.Pid,
            Comm = session.Processes.CommOf(Current.Pid),
            Conn = Current.Id,
            Role = Current.Role ?? "client",
            Remote = TraceSession.RemoteEndpoint(Current),
            LatencyMs = req is not null && resp is not null ? Math.Max(0, x.EndNs - x.StartNs) / 1e6 : null,
            Method = req?.Method,
            Path = req?.Target,
            Host = req?.Host,
            Version = (req ?? (HttpMessageInfo?)resp)?.Version,
            Status = resp?.Status,
            ReqBytes = req is null ? null : req.HeadBytes + req.BodyBytes,
            RespBytes = resp is null ? null : resp.HeadBytes + resp.BodyBytes,
            ReqHeaders = req is null ? null : Pairs(req.Headers),
            RespHeaders = resp is null ? null : Pairs(resp.Headers),
            ReqBody = req?.Body ?? default,
            RespBody = resp?.Body ?? default,
            ReqContentEncoding = req?.ContentEncoding,
            RespContentEncoding = resp?.ContentEncoding,
            Upgrade = x.Upgrade,
            Interim = x.Interim,
            UnseenBytes = (req?.UnseenBytes ?? 0) + (resp?.UnseenBytes ?? 0),
            Trailers = (req?.Trailers.Count ?? 0) + (resp?.Trailers.Count ?? 0) > 0
                ? Pairs([.. req?.Trailers ?? [], .. resp?.Trailers ?? []]) : null,
            Truncated = (req?.Truncated ?? false) || (resp?.Truncated ?? false),
            Tls = tls is not null,
            Sni = tls is not null ? Current.Sni : null,
            TlsSession = tls is { Conn: null } ? tls.SessionText : null,
        };
    }

    private DnsRecord Dns(DnsExchange x)
    {
        session.Names.Learn(x);
        return new DnsRecord
        {
            TimestampNs = session.ToUnixNs(x.StartNs),
            Pid = Current.Pid,
            Comm = session.Processes.CommOf(Current.Pid),
            Conn = Current.Id,
            Role = Current.Role ?? "client",
            Remote = x.Peer is not null ? ParsePeer(x.Peer) : TraceSession.RemoteEndpoint(Current),
            LatencyMs = x.Rcode is not null && x.HasQuery ? Math.Max(0, x.EndNs - x.StartNs) / 1e6 : null,
            Id = x.Id,
            Query = x.Query,
            QType = x.QType,
            Rcode = x.Rcode,
            Answers = x.Answers.Select(a => new DnsAnswerRecord(a.Name, a.Type, a.Ttl, a.Data)).ToList(),
            Transport = x.Transport,
            Truncated = x.Truncated,
        };
    }

    private TlsHandshakeRecord Tls(TlsHandshake x)
    {
        if (x.Sni is { Length: > 0 } sni)
        {
            NameRemote(sni);
            Current.Sni = sni;
        }
        return new TlsHandshakeRecord
        {
            TimestampNs = session.ToUnixNs(x.StartNs),
            Pid = Current.Pid,
            Comm = session.Processes.CommOf(Current.Pid),
            Conn = Current.Id,
            Role = Current.Role ?? "client",
            Remote = TraceSession.RemoteEndpoint(Current),
            LatencyMs = x.Version is not null ? Math.Max(0, x.EndNs - x.StartNs) / 1e6 : null,
            Sni = x.Sni,
            Alpn = x.Alpn,
            AlpnOffered = x.OfferedAlpn,
            Version = x.Version ?? x.ClientVersion,
            HelloRetry = x.HelloRetry,
        };
    }

    /// <summary>
    /// A client's Host header or SNI names the server it talks to, when DNS did not. (On a server they name the
    /// server itself, not the remote client; and an address literal is no name.)
    /// </summary>
    private void NameRemote(string name)
    {
        if (Current.Host is null && Current.Role != "server" && !System.Net.IPAddress.TryParse(name, out _))
        {
            Current.Host = name;
        }
    }

    private static KeyValuePair<string, string>[] Pairs(IReadOnlyList<HttpHeader> headers)
    {
        var pairs = new KeyValuePair<string, string>[headers.Count];
        for (int i = 0; i < pairs.Length; i++)
        {
            pairs[i] = new KeyValuePair<string, string>(headers[i].Name, headers[i].Value);
        }
        return pairs;
    }

    private static string StripPort(string host)
    {
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']');
            return close > 0 ? host[1..close] : host;
        }
        int colon = host.LastIndexOf(':');
        return colon > 0 && host.IndexOf(':') == colon ? host[..colon] : host;
    }

    /// <summary>"1.2.3.4:53" or "[::1]:53" back into an endpoint.</summary>
    private Endpoint ParsePeer(string peer)
    {
        int colon = peer.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(peer.AsSpan(colon + 1), out int port))
        {
            return new Endpoint(peer, null);
        }
        string addr = peer[..colon].Trim('[', ']');
        return new Endpoint(addr, port, Host: session.Names.Find(addr));
    }
}
