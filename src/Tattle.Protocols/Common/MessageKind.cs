namespace Tattle.Protocols.Common;

/// <summary>
/// Which half of a conversation a direction carries. The tracker maps send/recv to it from the connection's
/// role: a client sends requests, a server receives them.
/// </summary>
public enum MessageKind : byte
{
    Request,
    Response,
}
