using Tattle.Protocols.Common;

namespace Tattle.Tests.Protocols.Support;

/// <summary>
/// A parser fed as the trace feeds it, to a sink that consumes each message at once and keeps none: what its
/// steady state allocates is what a test counts (<see cref="GC.GetAllocatedBytesForCurrentThread"/>).
/// </summary>
public sealed class SteadyState : Tattle.Protocols.Common.IMessageSink
{
    private readonly StreamContext _context;

    /// <param name="context">What every feed is told (a datagram socket's, with its peer); a stream's by default.</param>
    public SteadyState(ProtocolInfo protocol, ParserOptions? options = null, StreamContext? context = null)
    {
        _context = context ?? new(1, 2);
        Parser = protocol.Create(options ?? ParserOptions.Default, this);
    }

    public SteadyState(Func<Tattle.Protocols.Common.IMessageSink, IProtocolParser> create)
    {
        _context = new(1, 2);
        Parser = create(this);
    }

    public IProtocolParser Parser { get; }

    public int Count { get; private set; }

    /// <summary>The last message, the parser's own object: read it before the next feed.</summary>
    public ProtocolMessage? Last { get; private set; }

    public bool ConsumesAtOnce => true;

    public void OnMessage(ProtocolMessage message) => (Count, Last) = (Count + 1, message);

    /// <summary>Hands the bytes over whole, a frame or message a call, as the connection's stream does.</summary>
    public void Feed(MessageKind kind, ReadOnlySpan<byte> bytes)
    {
        for (int offset = 0; offset < bytes.Length;)
        {
            var result = Parser.Parse(kind, bytes[offset..], _context);
            if (result.Consumed <= 0)
            {
                Assert.Fail($"{result.Status} with {bytes.Length - offset} bytes left"); // the message only then: it allocates
            }
            offset += result.Consumed;
        }
    }
}
