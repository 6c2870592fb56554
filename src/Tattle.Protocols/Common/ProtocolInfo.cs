namespace Tattle.Protocols.Common;

/// <summary>A protocol Tattle reads: its name, how to recognise it, and how to make a parser for a connection.</summary>
/// <param name="Name">As records and <c>--proto PORT=NAME</c> spell it.</param>
/// <param name="Probe">Recognises the protocol from a direction's first bytes.</param>
/// <param name="Create">Makes the parser of one connection.</param>
public sealed record ProtocolInfo(
    string Name, ProtocolProbe Probe, Func<ParserOptions, IMessageSink, IProtocolParser> Create);
