using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Tattle.Protocols.Common;
using Tattle.Protocols.Redis;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Redis;

/// <summary>
/// Whatever the bytes, the parser returns a status: no exception, Consumed within the input, and a bounded
/// number of calls (the feeder checks both and throws on a breach, which fails the property).
/// </summary>
public sealed class RedisPropertyTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static readonly string[] Tokens =
    [
        "*1\r\n", "*2\r\n", "*-1\r\n", "*0\r\n", "$3\r\nGET\r\n", "$1\r\nk\r\n", "$-1\r\n", "$5\r\nab", "+OK\r\n", "-ERR x\r\n",
        ":1\r\n", "%1\r\n", "~2\r\n", ">3\r\n", "|1\r\n", "_\r\n", ",1.5\r\n", "#t\r\n", "(123\r\n", "=5\r\ntxt:a\r\n",
        "!3\r\nERR\r\n", "$9\r\nSUBSCRIBE\r\n", "$7\r\nmessage\r\n", "$9\r\nsubscribe\r\n", "PING\r\n", "\r\n", "\r", "\n",
        "$99999999999\r\n", "*999999\r\n", "$6\r\nCONFIG\r\n", "x",
    ];

    private static StreamFeeder Feed(byte[] requests, byte[] responses, Random random) =>
        RandomFeeding.Feed(RedisProtocol.Info, requests, responses, random, ParserOptions.Default);

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
        Check.One(Many, Prop.ForAll<int[], int[], int>((a, b, seed) =>
        {
            Feed(RandomFeeding.Soup(Tokens, a), RandomFeeding.Soup(Tokens, b), new Random(seed));
            return true;
        }));
    }

    [Fact]
    public void MutatedRealConnectionsNeverThrowNorLoop()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), Prop.ForAll<int>(seed =>
        {
            var random = new Random(seed);
            var capture = RedisCaptureTests.Load(RedisCaptureTests.All[random.Next(RedisCaptureTests.All.Length)]);
            byte[] special = [(byte)'\r', (byte)'\n', (byte)'*', (byte)'$', (byte)'-', (byte)'>', (byte)'|', (byte)'9', 0];
            Feed(RandomFeeding.Mutate(capture.Requests, random, special), RandomFeeding.Mutate(capture.Responses, random, special), random);
            return true;
        }));
    }
}
