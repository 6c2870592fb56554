using Tattle.Records;

namespace Tattle.Protocols.Common;

/// <summary>
/// What a message needs from the connection it travelled on to become a record, and what it tells the tracker
/// back (the names it learnt). The tracker implements it per connection; parsers never see it.
/// </summary>
public interface IMessageContext
{
    /// <summary>The common record header for a message that started at <paramref name="startMonoNs"/>.</summary>
    MessageHeader Header(long startMonoNs);

    /// <summary>Milliseconds between two monotonic times, never negative.</summary>
    static double Latency(long startNs, long endNs) => Math.Max(0, endNs - startNs) / 1e6;

    /// <summary>The message was read as TLS plaintext (uprobes) rather than from the socket.</summary>
    bool Tls { get; }

    /// <summary>TLS: the server name of the connection's handshake, when it was seen.</summary>
    string? Sni { get; }

    /// <summary>TLS plaintext whose socket was never found: the library's session object ("0x…").</summary>
    string? TlsSession { get; }

    /// <summary>
    /// A name the client gave its server (Host, :authority, SNI): the connection's remote takes it when DNS did not
    /// name it. On a server the name is the server's own, and is ignored; so is an address literal. A port
    /// ("example.com:8080", "[::1]:8080") is dropped here, only when the name is kept: every request names its server.
    /// <paramref name="from"/> is where the name was read (<see cref="HostSource"/>).
    /// </summary>
    void NameServer(string name, string from);

    /// <summary>The handshake named the server: later messages on the connection say so.</summary>
    void SetSni(string sni);

    /// <summary>A DNS answer: <paramref name="address"/> is what the program meant by <paramref name="name"/>.</summary>
    void LearnName(string address, string name);

    /// <summary>A datagram peer ("1.2.3.4:53", "[::1]:53") as an endpoint, named when a name is known.</summary>
    Endpoint PeerEndpoint(string peer);

    /// <summary>
    /// The record this context's last message made, when every sink it went to was done with it on return
    /// (<see cref="IRecordSink.ConsumesAtOnce"/>); null when a sink may keep it. A message whose record type it is
    /// may make its own record by refilling it, every field set, instead of making a new one.
    /// </summary>
    MessageRecord? SpareRecord => null;
}
