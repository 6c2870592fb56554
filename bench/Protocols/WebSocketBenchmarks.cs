using BenchmarkDotNet.Attributes;
using Tattle.Protocols.Common;
using Tattle.Protocols.WebSocket;

namespace Tattle.Bench.Protocols;

/// <summary>
/// WebSocket parse cost per message: a masked 12-byte text frame as a client sends it, one
/// <see cref="WebSocketMessage"/> reported. Target: 1 M messages/s per core, nothing allocated beyond the message.
/// </summary>
[MemoryDiagnoser]
public class WebSocketBenchmarks
{
    private static readonly byte[] Frame = MaskedText("hello world!"u8);

    private readonly DiscardSink _sink = new();
    private IProtocolParser _parser = null!;
    private long _now;

    [GlobalSetup]
    public void Setup() => _parser = WebSocketProtocol.Info.Create(ParserOptions.Default, _sink);

    [Benchmark(Baseline = true)]
    public ParseResult MaskedTextFrame()
    {
        _now += 1000;
        return _parser.Parse(MessageKind.Request, Frame, new StreamContext(_now, _now));
    }

    private static byte[] MaskedText(ReadOnlySpan<byte> text)
    {
        byte[] mask = [0x37, 0xfa, 0x21, 0x3d];
        var frame = new byte[6 + text.Length];
        (frame[0], frame[1]) = (0x81, (byte)(0x80 | text.Length));
        mask.CopyTo(frame.AsSpan(2));
        for (int i = 0; i < text.Length; i++)
        {
            frame[6 + i] = (byte)(text[i] ^ mask[i & 3]);
        }
        return frame;
    }
}
