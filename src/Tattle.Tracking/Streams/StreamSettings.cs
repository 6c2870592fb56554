using Tattle.Protocols;
using Tattle.Protocols.Common;

namespace Tattle.Tracking.Streams;

/// <summary>How connections' payloads are reassembled and parsed.</summary>
public sealed record StreamSettings
{
    public const int DefaultCapBytes = 1 << 20;

    /// <summary>Parse payloads into protocol messages at all.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Unparsed bytes kept per connection and direction; past it they become a gap.</summary>
    public int CapBytes { get; init; } = DefaultCapBytes;

    public ParserOptions Parser { get; init; } = ParserOptions.Default;

    /// <summary>--proto PORT=NAME: connections with this local or remote port speak that protocol.</summary>
    public IReadOnlyDictionary<int, string> PortProtocols { get; init; } = new Dictionary<int, string>();

    public ProtocolCatalog Catalog { get; init; } = ProtocolCatalog.Default;
}
