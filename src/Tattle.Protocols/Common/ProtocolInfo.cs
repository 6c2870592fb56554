namespace Tattle.Protocols.Common;

/// <summary>A protocol Tattle reads: its name, how to recognise it, and how to make a parser for a connection.</summary>
/// <param name="Name">As records and <c>--proto PORT=NAME</c> spell it.</param>
/// <param name="Probe">Recognises the protocol from a direction's first bytes.</param>
/// <param name="Create">Makes the parser of one connection.</param>
public sealed record ProtocolInfo(
    string Name, ProtocolProbe Probe, Func<ParserOptions, IMessageSink, IProtocolParser> Create)
{
    /// <summary>Other names <c>--proto PORT=NAME</c> accepts ("h2", "grpc").</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Upgrade tokens this protocol takes a connection over from (HTTP/2: "h2c").</summary>
    public IReadOnlyList<string> UpgradeTokens { get; init; } = [];

    /// <summary>Makes the parser that continues a connection after a <see cref="ProtocolSwitch"/> to one of <see cref="UpgradeTokens"/>.</summary>
    public Func<ParserOptions, IMessageSink, ProtocolSwitch, IProtocolParser>? TakeOver { get; init; }
}
