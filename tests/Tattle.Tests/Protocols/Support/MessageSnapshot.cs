using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;

namespace Tattle.Tests.Protocols.Support;

/// <summary>
/// What a test keeps of a message its parser may refill: the test sinks declare they consume at once, as the
/// trace's recorder does, so parsers run the path they run live, and keep a copy of each message.
/// </summary>
public static class MessageSnapshot
{
    public static ProtocolMessage Of(ProtocolMessage message) => message switch
    {
        HttpExchange x => x with { Request = x.Request is { } r ? r with { } : null, Response = x.Response is { } s ? s with { } : null },
        _ => message with { }, // a shallow copy: the rest keep no refilled parts
    };
}
