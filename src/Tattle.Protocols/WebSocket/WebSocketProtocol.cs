using Tattle.Protocols.Common;

namespace Tattle.Protocols.WebSocket;

/// <summary>WebSocket (RFC 6455), taken over after HTTP/1.1's <c>101 Switching Protocols</c> (see README.md).</summary>
public static class WebSocketProtocol
{
    public const string Name = "websocket";

    /// <summary>
    /// Never claims a connection by its first bytes: a WebSocket connection starts with an HTTP/1.1 upgrade, which the
    /// HTTP/1 parser reads and hands over. <c>--proto PORT=websocket</c> still reads frames from the first byte.
    /// </summary>
    public static ProtocolInfo Info { get; } = new(Name, static (_, _, _, _) => Detection.No, (options, sink) => new WebSocketParser(options, sink))
    {
        Aliases = ["ws"],
        UpgradeTokens = ["websocket"],
        TakeOver = (options, sink, _) => new WebSocketParser(options, sink),
    };
}
