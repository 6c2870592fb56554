using FsCheck;
using FsCheck.Fluent;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http2;
using Tattle.Tests.Protocols.Support;
using static Tattle.Tests.Protocols.Http2.Http2Wire;

namespace Tattle.Tests.Protocols.Http2;

/// <summary>
/// Whatever the bytes, the parser returns a status: no exception, Consumed within the input, and a bounded
/// number of calls (the feeder checks both and throws on a breach, which fails the property).
/// </summary>
public sealed class Http2PropertyTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static readonly ParserOptions Small = new() { BodyLimit = 64 };

    /// <summary>Frames that reach every branch of the frame layer when strung together at random.</summary>
    private static readonly byte[][] Frames =
    [
        Preface, Settings((1, 0), (5, 1 << 20)), Settings((1, 100_000)), SettingsAck, Ping(), Ping(ack: true),
        WindowUpdate(0, 10), WindowUpdate(1, 10), GoAway(1, 2), GoAway(0x7fff_ffff, 0), RstStream(1, 8), RstStream(3, 0),
        Headers(1, Request("/a"), endStream: true), Headers(3, Request("/b?token=x"), endStream: false),
        Headers(1, Response(200), endStream: false), Headers(2, Response(204), endStream: true),
        Headers(1, Block(Literal("grpc-status", "0")), endStream: true), Headers(5, Request("/c"), endStream: false, endHeaders: false),
        Continuation(5, Literal("x", "y"), endHeaders: false), Continuation(5, Literal("z", "w"), endHeaders: true),
        Headers(7, Block(Literal("content-type", "application/grpc", addToTable: true), Indexed(62)), endStream: false),
        Data(1, "hello", false), Data(3, "world", true), Data(7, GrpcMessages(false, [1, 2, 3]), false), Data(7, [0, 0, 0], false),
        Frame(FrameType.Data, FrameFlags.Padded, 1, [3, 1, 2, 0, 0, 0]), Frame(FrameType.Data, FrameFlags.Padded, 1, [9, 1]),
        Frame(FrameType.Headers, FrameFlags.Padded | FrameFlags.EndHeaders, 9, [200]),
        Frame(FrameType.PushPromise, FrameFlags.EndHeaders, 1, [0, 0, 0, 2, .. Request("/pushed")]),
        Frame(FrameType.Priority, 0, 11, new byte[5]), Frame(0x42, 0, 1, new byte[7]), Frame(FrameType.Settings, 0, 0, new byte[5]),
        [0xff, 0xff, 0xff], [0, 0, 1], [0x80], [0x3f, 0xe1, 0x1f],
    ];

    private static StreamFeeder Feed(byte[] requests, byte[] responses, Random random, ParserOptions? options = null) =>
        RandomFeeding.Feed(Http2Protocol.Info, requests, responses, random, options ?? Small);

    [Fact]
    public void RandomBytesNeverThrowNorLoop()
    {
        Check.One(Many, Prop.ForAll<byte[], byte[], int>((requests, responses, seed) =>
        {
            Feed([.. Preface, .. requests ?? []], responses ?? [], new Random(seed));
            return true;
        }));
    }

    [Fact]
    public void FrameSoupNeverThrowsNorLoops()
    {
        Check.One(Many, Prop.ForAll<int[], int[], int>((a, b, seed) =>
        {
            Feed(RandomFeeding.Soup(Frames, a), RandomFeeding.Soup(Frames, b), new Random(seed));
            return true;
        }));
    }

    [Fact]
    public void MutatedRealConnectionsNeverThrowNorLoop()
    {
        byte[] special = [0, 0x80, 0xff, 0x40, 0x3f, 1, 4, 9, 0x7f];
        Check.One(Many, Prop.ForAll<int>(seed =>
        {
            var random = new Random(seed);
            var capture = Http2Capture.Load(Http2Capture.All[random.Next(Http2Capture.All.Length)]).Recording;
            Feed(RandomFeeding.Mutate(capture.Requests, random, special), RandomFeeding.Mutate(capture.Responses, random, special), random,
                random.Next(2) == 0 ? Small : new ParserOptions { BodyLimit = 1000, Redact = false });
            return true;
        }));
    }

    [Fact]
    public void OneCallConsumesWithinItsInputAndInvalidConsumesNothing()
    {
        Check.One(Many, Prop.ForAll<byte[], bool, bool>((data, response, behindPreface) =>
        {
            data ??= [];
            var kind = response ? MessageKind.Response : MessageKind.Request;
            var parser = Http2Protocol.Create(ParserOptions.Default, new StreamFeeder.CollectingSink(), null);
            byte[] input = behindPreface && !response ? [.. Preface, .. data] : data;
            var result = parser.Parse(kind, input, new StreamContext(1, 2));
            int boundary = parser.FindFrameBoundary(kind, input);
            return result.Consumed >= 0 && result.Consumed <= input.Length
                && (result.Status != ParseStatus.Invalid || result.Consumed == 0)
                && boundary >= -1 && boundary < Math.Max(1, input.Length);
        }));
    }

    [Fact]
    public void ProbeNeverThrowsAndWhatItClaimsTheParserTakes()
    {
        Check.One(Many, Prop.ForAll<byte[]>(data =>
        {
            data ??= [];
            var detection = Http2Protocol.Probe(data, false, 0, 0);
            if (detection is not (Detection.Request or Detection.Response))
            {
                return true;
            }
            var kind = detection == Detection.Request ? MessageKind.Request : MessageKind.Response;
            var parser = Http2Protocol.Create(ParserOptions.Default, new StreamFeeder.CollectingSink(), new Http2Start(AtConnectionStart: false));
            return parser.Parse(kind, data, default).Status != ParseStatus.Invalid;
        }));
    }
}
