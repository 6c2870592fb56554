using Tattle.Protocols.Common;

namespace Tattle.Bench.Protocols;

/// <summary>A sink that drops what parsers report: the benchmarks measure the parsing, not a consumer.</summary>
internal sealed class DiscardSink : IMessageSink
{
    /// <summary>How many messages were reported, for a setup that checks it measures what it says.</summary>
    public int Count { get; private set; }

    /// <summary>The last message reported (the parser's own object, which it may refill), for the same check.</summary>
    public ProtocolMessage? Last { get; private set; }

    public void OnMessage(ProtocolMessage message) => (Count, Last) = (Count + 1, message);

    // Done with each message at once, as the trace's recorder is: parsers take the path they take live.
    public bool ConsumesAtOnce => true;
}
