using Tattle.Capture.Events;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http;
using Tattle.Records;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Names;
using Tattle.Tracking.Tls;

namespace Tattle.Tracking.Streams;

/// <summary>
/// Turns what one connection's decoder reports into records, through the record writer: each message makes its
/// own record, with this connection as its context. With a TLS session, the decoder parses that session's
/// plaintext: records say tls, and name the socket's connection once it is known.
/// </summary>
internal sealed class MessageRecorder(RecordWriter writer, AddressNames names, Connection socketConn, TlsSessionStream? tls = null)
    : IDecoderEvents, IMessageContext
{
    private Connection Current => tls?.RecordConnection ?? socketConn;

    // The connection's protocol reads as what its plaintext carries, over TLS.
    public void OnProtocol(string protocol) =>
        Current.AppProtocol = tls is null ? protocol : protocol == "http" ? "https" : protocol + "/tls";

    public void OnGap(Direction direction, long bytes, GapReason reason) => writer.Gap(Current, direction, bytes, reason);

    public void OnMessage(ProtocolMessage message)
    {
        if (message is Protocols.Tls.TlsHandshake handshake && tls is null)
        {
            Current.TlsHandshakeNs = handshake.Version is not null ? handshake.EndNs : handshake.StartNs;
        }
        var record = message.ToRecord(this);
        writer.Message(Current, record);
        SpareRecord = writer.RecordsConsumedAtOnce ? record : null;
    }

    public MessageRecord? SpareRecord { get; private set; }

    // A record copies what it shows out of the message (arrays handed to it are never changed again).
    public bool ConsumesAtOnce => true;

    public MessageHeader Header(long startMonoNs) => writer.Header(Current, startMonoNs);

    public bool Tls => tls is not null;

    public string? Sni => tls is not null ? Current.Sni : null;

    public string? TlsSession => tls is { Conn: null } ? tls.SessionText : null;

    /// <summary>(On a server the name is the server itself, not the remote client; and an address literal is no name.)</summary>
    public void NameServer(string name, string from)
    {
        if (Current.Host is not null || Current.Role == "server")
        {
            return;
        }
        name = HostHeader.WithoutPort(name);
        if (!System.Net.IPAddress.TryParse(name, out _))
        {
            Current.NameRemote(name, from);
        }
    }

    public void SetSni(string sni) => Current.Sni = sni;

    public void LearnName(string address, string name) => names.Add(address, name);

    /// <summary>The last peer's endpoint, with the peer text it was read from: a datagram socket's peer rarely changes.</summary>
    private (string Peer, Endpoint Endpoint)? _peer;

    public Endpoint PeerEndpoint(string peer)
    {
        // Kept while the peer is the same and the name learnt for its address is too.
        if (_peer is { } last && last.Peer == peer && ReferenceEquals(names.Find(last.Endpoint.Addr), last.Endpoint.Host))
        {
            return last.Endpoint;
        }
        var endpoint = ParsePeer(peer);
        _peer = (peer, endpoint);
        return endpoint;
    }

    private Endpoint ParsePeer(string peer)
    {
        int colon = peer.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(peer.AsSpan(colon + 1), out int port))
        {
            return new Endpoint(peer, null);
        }
        string addr = peer[..colon].Trim('[', ']');
        return names.Find(addr) is { } host ? new Endpoint(addr, port, Host: host, HostFrom: HostSource.Dns) : new Endpoint(addr, port);
    }
}
