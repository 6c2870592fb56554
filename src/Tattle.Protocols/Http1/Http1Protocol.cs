using Tattle.Protocols.Common;

namespace Tattle.Protocols.Http1;

/// <summary>HTTP/1.0 and HTTP/1.1 over a byte stream (RFC 9112): the probe and the parser factory.</summary>
public static class Http1Protocol
{
    public const string Name = "http";

    public static ProtocolInfo Info { get; } = new(Name, Probe, (options, sink) => new Http1Parser(options, sink));

    /// <summary>
    /// A whole request line (method SP target SP "HTTP/1.x" and its line end) means requests; "HTTP/1.x NNN" means
    /// responses; a prefix of either waits for more bytes. Ports are ignored: HTTP runs on any port.
    /// </summary>
    public static Detection Probe(ReadOnlySpan<byte> data, bool datagram, int localPort, int remotePort)
    {
        if (datagram)
        {
            return Detection.No;
        }
        var response = HttpSyntax.DetectResponse(data);
        if (response == Detection3.Yes)
        {
            return Detection.Response;
        }
        var request = HttpSyntax.DetectRequest(data);
        if (request == Detection3.Yes)
        {
            return Detection.Request;
        }
        return response == Detection3.Maybe || request == Detection3.Maybe ? Detection.NeedMoreData : Detection.No;
    }
}
