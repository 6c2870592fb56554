using Tattle.Capture.Events;

namespace Tattle.Tracking.Connections;

/// <summary>Where a connection is in its life.</summary>
public enum ConnectionState
{
    Created,
    Connecting,
    Open,
    Listening,
    Failed,
    Closed,
}

/// <summary>
/// One socket of one process, identified by (pid, process start time, fd, generation): the generation grows each
/// time the fd is reused, so a reused pid or fd is never confused with the old connection.
/// </summary>
public sealed class Connection
{
    public required string Id { get; init; }

    public required int Pid { get; init; }

    public required ulong ProcessStart { get; init; }

    public required int Fd { get; set; }

    /// <summary>The fd as records show it: -1 for a socket known only from its TCP state changes (--packets-only).</summary>
    public int ShownFd => Fd >= 0 ? Fd : -1;

    public required int Generation { get; set; }

    /// <summary>The kernel sock's address while it lives (0 when unknown).</summary>
    public ulong SockId { get; set; }

    /// <summary>tcp, udp, unix or raw.</summary>
    public required string Proto { get; set; }

    /// <summary>client or server; null until known.</summary>
    public string? Role { get; set; }

    public ConnectionState State { get; set; } = ConnectionState.Created;

    public NetAddress Local { get; set; }

    public NetAddress Remote { get; set; }

    public string? LocalPath { get; set; }

    public string? RemotePath { get; set; }

    /// <summary>Open before tracing began.</summary>
    public bool Existing { get; set; }

    /// <summary>A datagram socket that connect() never tied to a peer: its remote is the first datagram's address.</summary>
    public bool Unconnected { get; set; }

    /// <summary>Whether conn.open (or conn.fail) was written.</summary>
    public bool Announced { get; set; }

    public long OpenedNs { get; set; }

    public ulong BytesSent { get; set; }

    public ulong BytesRecv { get; set; }

    /// <summary>Kernel byte counters of the socket, when a close or state record carried them.</summary>
    public ulong KernelSent { get; set; }

    public ulong KernelRecv { get; set; }

    public DataFlags Unseen { get; set; }

    /// <summary>For unconnected datagram sockets: traffic per peer.</summary>
    public Dictionary<NetAddress, PeerTraffic>? Peers { get; set; }

    public TcpState TcpState { get; set; }

    /// <summary>The remote's host name: from the run's DNS answers, the TLS SNI or the HTTP Host header.</summary>
    public string? Host { get; private set; }

    /// <summary>Where <see cref="Host"/> came from (<see cref="HostSource"/>).</summary>
    public string? HostFrom { get; private set; }

    /// <summary>Names the remote, once: the first name given stands.</summary>
    public void NameRemote(string? host, string from)
    {
        if (Host is null && host is not null)
        {
            (Host, HostFrom) = (host, from);
        }
    }

    /// <summary>The application protocol detected on the connection (http, dns, tls), if any.</summary>
    public string? AppProtocol { get; set; }

    /// <summary>The server name the TLS ClientHello asked for, when the handshake was seen.</summary>
    public string? Sni { get; set; }

    /// <summary>When the socket's TLS handshake was read (the ServerHello, else the ClientHello); 0: none was.</summary>
    public long TlsHandshakeNs { get; set; }

    /// <summary>The direction of the first TLS plaintext the probes read on this socket; null: none yet.</summary>
    public Direction? FirstPlaintext { get; set; }

    /// <summary>Whether it was judged against its process's TLS probe time (see Tls.LateProbes).</summary>
    internal bool LateProbesNoted { get; set; }

    /// <summary>The TLS session whose plaintext the probes deliver for this socket, if any.</summary>
    internal Tls.TlsSessionStream? Tls { get; set; }

    /// <summary>The thread whose last socket read this connection was (0: none), so its entry goes with it.</summary>
    internal int LastRecvTid { get; set; }

    /// <summary>Reassembles and parses the payload; created at the first payload.</summary>
    internal Streams.ConnectionDecoder? Decoder { get; set; }

    /// <summary>The socket's error from its last TCP state change (e.g. ECONNREFUSED), if any.</summary>
    public string? LastError { get; set; }

    /// <summary>
    /// The endpoints as records show them, made once while what they are made of stays the same: every message
    /// record and its summary row name one, and each made anew cost an object and an address string per request.
    /// </summary>
    internal EndpointCache Endpoints;

    /// <summary>The summary row the last request counted in, with what chose it (see SummaryBuilder.AddMessage).</summary>
    internal (Records.SummaryRow Row, Records.Endpoint Endpoint, string Role, string Proto, LatencyHistogram? Latencies)? SummaryRow { get; set; }
}

/// <summary>A connection's endpoints as records show them, each with the inputs it was made from.</summary>
internal struct EndpointCache
{
    public Records.Endpoint? Remote;
    public (string Proto, NetAddress Address, string? Host, string? Path) RemoteFrom;
    public Records.Endpoint? Local;
    public (string Proto, NetAddress Address, string? Path) LocalFrom;

    /// <summary>The last datagram peer's text, which pairs a datagram protocol's requests with their responses.</summary>
    public string? PeerText;
    public NetAddress PeerFrom;
}

/// <summary>Datagram traffic with one peer.</summary>
public sealed class PeerTraffic
{
    public ulong BytesSent { get; set; }

    public ulong BytesRecv { get; set; }
}
