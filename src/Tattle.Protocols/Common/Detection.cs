namespace Tattle.Protocols.Common;

/// <summary>What a protocol's probe makes of the first bytes of one direction.</summary>
public enum Detection : byte
{
    /// <summary>Not this protocol.</summary>
    No,

    /// <summary>Too few bytes to tell.</summary>
    NeedMoreData,

    /// <summary>This protocol; the direction carries requests.</summary>
    Request,

    /// <summary>This protocol; the direction carries responses.</summary>
    Response,
}

/// <summary>Looks at the first bytes of a direction (and, as a hint only, the ports) and says what it sees.</summary>
/// <param name="data">The first bytes the direction carried.</param>
/// <param name="datagram">Whether <paramref name="data"/> is one datagram.</param>
/// <param name="localPort">The traced socket's port (0 if unknown).</param>
/// <param name="remotePort">The peer's port (0 if unknown).</param>
public delegate Detection ProtocolProbe(ReadOnlySpan<byte> data, bool datagram, int localPort, int remotePort);
