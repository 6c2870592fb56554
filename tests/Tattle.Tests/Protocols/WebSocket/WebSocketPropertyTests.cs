using FsCheck;
using FsCheck.Fluent;
using Tattle.Protocols.Common;
using Tattle.Protocols.WebSocket;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.WebSocket;

/// <summary>
/// Whatever the bytes, the parser returns a status: no exception, Consumed within the input, and a bounded
/// number of calls (the feeder checks both and throws on a breach, which fails the property).
/// </summary>
public sealed class WebSocketPropertyTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static StreamFeeder Feed(byte[] requests, byte[] responses, Random random) =>
        RandomFeeding.Feed(WebSocketProtocol.Info, requests, responses, random, ParserOptions.Default with { Previews = true });

    [Fact]
    public void RandomBytesNeverThrowNorLoop()
    {
        Check.One(Many, Prop.ForAll<byte[], byte[], int>((requests, responses, seed) =>
        {
            Feed(requests ?? [], responses ?? [], new Random(seed));
            return true;
        }));
    }

    [Fact]
    public void MutatedRealConnectionsNeverThrowNorLoop()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), Prop.ForAll<int>(seed =>
        {
            var random = new Random(seed);
            var capture = WebSocketCaptureTests.Load(WebSocketCaptureTests.All[random.Next(WebSocketCaptureTests.All.Length)]);
            byte[] special = [0x81, 0x01, 0x80, 0x88, 0x7E, 0x7F, 0xFF, 0];
            Feed(RandomFeeding.Mutate(capture.Requests, random, special), RandomFeeding.Mutate(capture.Responses, random, special), random);
            return true;
        }));
    }
}
