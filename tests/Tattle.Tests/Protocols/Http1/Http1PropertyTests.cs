using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Http1;

/// <summary>
/// Whatever the bytes, the parser returns a status: no exception, Consumed within the input, and a bounded
/// number of calls (the feeder checks both and throws on a breach, which fails the property).
/// </summary>
public sealed class Http1PropertyTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static readonly string[] Tokens =
    [
        "GET / HTTP/1.1\r\n", "HEAD /h HTTP/1.1\r\n", "CONNECT h:443 HTTP/1.1\r\n", "POST /p HTTP/1.0\r\n",
        "HTTP/1.1 200 OK\r\n", "HTTP/1.1 100 Continue\r\n", "HTTP/1.1 101 Switching Protocols\r\n", "HTTP/1.0 204 \r\n",
        "HTTP/1.1 304 Not Modified\r\n", "Content-Length: 5\r\n", "Content-Length: 0\r\n", "Content-Length: 1, 2\r\n",
        "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip\r\n", "Upgrade: websocket\r\n", "X: y\r\n", " folded\r\n",
        "\r\n", "\n", "\r", "5\r\nhello\r\n", "0\r\n\r\n", "3;ext=1\r\nabc\r\n", "ffffffffffffffffff\r\n",
        "Trailer-Field: t\r\n", "hello", ":", " ", "\0", "Cookie: a=b\r\n", "GET /?token=x HTTP/1.1\r\n",
    ];

    private static StreamFeeder Feed(byte[] requests, byte[] responses, Random random, ParserOptions? options = null) =>
        RandomFeeding.Feed(Http1Protocol.Info, requests, responses, random, options ?? new ParserOptions { BodyLimit = 64 });

    private static byte[] Mutate(byte[] source, Random random) =>
        RandomFeeding.Mutate(source, random, [(byte)'\r', (byte)'\n', (byte)':', (byte)' ', (byte)'0', (byte)'f', (byte)';', (byte)'\t', 0, 0xff]);

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
    public void TokenSoupNeverThrowsNorLoops()
    {
        // Plausible pieces reach the body, chunk and pairing code that random bytes rarely do.
        Check.One(Many, Prop.ForAll<int[], int[], int>((a, b, seed) =>
        {
            Feed(RandomFeeding.Soup(Tokens, a), RandomFeeding.Soup(Tokens, b), new Random(seed));
            return true;
        }));
    }

    [Fact]
    public void MutatedRealConnectionsNeverThrowNorLoop()
    {
        Check.One(Many, Prop.ForAll<int>(seed =>
        {
            var random = new Random(seed);
            var capture = Http1Capture.Load(Http1Capture.All[random.Next(Http1Capture.All.Length)]);
            Feed(Mutate(capture.Requests, random), Mutate(capture.Responses, random), random,
                random.Next(2) == 0 ? ParserOptions.Default : new ParserOptions { BodyLimit = 100, Redact = false });
            return true;
        }));
    }

    [Fact]
    public void OneCallConsumesWithinItsInputAndInvalidConsumesNothing()
    {
        Check.One(Many, Prop.ForAll<byte[], bool, int>((data, response, cut) =>
        {
            data ??= [];
            var kind = response ? MessageKind.Response : MessageKind.Request;
            var parser = Http1Protocol.Info.Create(ParserOptions.Default, new StreamFeeder.CollectingSink());
            // Half the time behind a valid head, so the bytes land in a body or a second head.
            byte[] head = Encoding.ASCII.GetBytes(response ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" : "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n");
            byte[] input = cut % 2 == 0 ? data : [.. head, .. data];
            var result = parser.Parse(kind, input, new StreamContext(1, 2));
            int boundary = parser.FindFrameBoundary(kind, input);
            return result.Consumed >= 0 && result.Consumed <= input.Length
                && (result.Status != ParseStatus.Invalid || result.Consumed == 0)
                && boundary >= -1 && boundary < Math.Max(1, input.Length);
        }));
    }

    [Fact]
    public void ProbeNeverThrowsAndAgreesWithParse()
    {
        // What the probe takes for a request, the parser does not refuse on sight.
        Check.One(Many, Prop.ForAll<byte[]>(data =>
        {
            data ??= [];
            var detection = Http1Protocol.Probe(data, false, 0, 0);
            if (detection is Detection.Request or Detection.Response && !data.AsSpan().Contains((byte)'\n'))
            {
                var kind = detection == Detection.Request ? MessageKind.Request : MessageKind.Response;
                var parser = Http1Protocol.Info.Create(ParserOptions.Default, new StreamFeeder.CollectingSink());
                return parser.Parse(kind, data, default).Status == ParseStatus.NeedMoreData;
            }
            return true;
        }));
    }
}
