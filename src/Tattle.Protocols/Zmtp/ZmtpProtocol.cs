using Tattle.Protocols.Common;

namespace Tattle.Protocols.Zmtp;

/// <summary>ZeroMQ's ZMTP 3.0 and 3.1: how to recognise it and how to make a parser (see README.md).</summary>
public static class ZmtpProtocol
{
    public const string Name = "zmtp";

    public static ProtocolInfo Info { get; } = new(Name, Probe, (options, sink) => new ZmtpParser(options, sink))
    {
        Aliases = ["zmq", "zeromq"],
    };

    /// <summary>
    /// Both peers open with the same greeting, so either direction is claimed on its signature (0xFF, 8 bytes of
    /// padding, 0x7F) followed by a major version of 3; the mechanism name, once there, must look like one. There
    /// is no port hint: ZeroMQ has no default port.
    /// </summary>
    public static Detection Probe(ReadOnlySpan<byte> data, bool datagram, int localPort, int remotePort)
    {
        if (datagram || data.IsEmpty || data[0] != ZmtpWire.SignatureStart)
        {
            return Detection.No;
        }
        if (data.Length < ZmtpWire.SignatureLength)
        {
            return Detection.NeedMoreData;
        }
        if (data[ZmtpWire.SignatureLength - 1] != ZmtpWire.SignatureEnd)
        {
            return Detection.No;
        }
        // libzmq sends the signature alone and the major version only once it has seen the peer's signature.
        if (data.Length <= ZmtpWire.MajorOffset)
        {
            return Detection.NeedMoreData;
        }
        if (data[ZmtpWire.MajorOffset] != 3)
        {
            return Detection.No;
        }
        if (data.Length >= ZmtpWire.MechanismOffset + ZmtpWire.MechanismLength
            && !ZmtpWire.IsMechanismField(data.Slice(ZmtpWire.MechanismOffset, ZmtpWire.MechanismLength)))
        {
            return Detection.No;
        }
        return Detection.Request;
    }
}
