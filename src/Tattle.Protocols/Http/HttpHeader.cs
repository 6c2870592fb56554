namespace Tattle.Protocols.Http;

/// <summary>A header field as reported, in wire order and spelling (the value already redacted when redaction is on).</summary>
public readonly record struct HttpHeader(string Name, string Value);
