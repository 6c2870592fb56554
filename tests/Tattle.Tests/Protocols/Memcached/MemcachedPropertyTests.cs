using FsCheck;
using FsCheck.Fluent;
using Tattle.Protocols.Common;
using Tattle.Protocols.Memcached;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Memcached;

/// <summary>
/// Whatever the bytes, the parser returns a status: no exception, Consumed within the input, and a bounded
/// number of calls (the feeder checks both and throws on a breach, which fails the property).
/// </summary>
public sealed class MemcachedPropertyTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static readonly string[] Tokens =
    [
        "get k\r\n", "get a b c\r\n", "set k 0 0 5\r\n", "hello\r\n", "set k 0 0 99999999999\r\n", "ms k 3 q\r\n", "mg k v q k\r\n",
        "mn\r\n", "md k q\r\n", "ma k q v\r\n", "stats\r\n", "quit\r\n", "cas k 1 2 3 4 noreply\r\n", "VALUE k 0 3\r\n", "abc\r\n",
        "END\r\n", "STORED\r\n", "VA 3 kk Oxy\r\n", "VA 99999999999\r\n", "HD\r\n", "EN\r\n", "NF\r\n", "MN\r\n", "STAT pid 1\r\n",
        "CLIENT_ERROR bad\r\n", "ERROR\r\n", "12\r\n", "ME k a=1\r\n", "\r\n", "\r", "\n", " ", "x", "\u0080",
    ];

    private static StreamFeeder Feed(byte[] requests, byte[] responses, Random random) =>
        RandomFeeding.Feed(MemcachedProtocol.Info, requests, responses, random, ParserOptions.Default);

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
            var capture = MemcachedCaptureTests.Load(MemcachedCaptureTests.All[random.Next(MemcachedCaptureTests.All.Length)]);
            byte[] special = [(byte)'\r', (byte)'\n', (byte)' ', (byte)'q', (byte)'9', 0x80, 0];
            Feed(RandomFeeding.Mutate(capture.Requests, random, special), RandomFeeding.Mutate(capture.Responses, random, special), random);
            return true;
        }));
    }

    [Theory]
    [InlineData("get user:1\r\n", 40000, 8080, Detection.Request)]
    [InlineData("set k 0 0 5\r\nhello\r\n", 40000, 8080, Detection.Request)]
    [InlineData("mg k v\r\n", 40000, 8080, Detection.Request)]
    [InlineData("get", 40000, 8080, Detection.NeedMoreData)]
    [InlineData("get user", 40000, 8080, Detection.NeedMoreData)]
    [InlineData("version\r\n", 40000, 8080, Detection.No)]
    [InlineData("version\r\n", 40000, 11211, Detection.Request)]
    [InlineData("mn\r\n", 40000, 11211, Detection.Request)]
    [InlineData("STORED\r\n", 11211, 40000, Detection.Response)]
    [InlineData("STORED\r\n", 8080, 40000, Detection.No)]
    // Redis inline commands are upper-case, memcached's lower-case: neither claims the other's.
    [InlineData("GET foo\r\n", 40000, 8080, Detection.No)]
    [InlineData("GET foo\r\n", 40000, 6379, Detection.No)]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 40000, 80, Detection.No)]
    [InlineData("get / http/1.1\r\n", 40000, 80, Detection.Request)]
    [InlineData("set k x 0 5\r\n", 40000, 8080, Detection.No)]
    [InlineData("hello world\r\n", 40000, 8080, Detection.No)]
    [InlineData("quit\r\n", 40000, 25, Detection.No)]
    public void ProbeClaimsCommandsWithTheirArgumentsAndBareOnesOnlyOnItsPort(string data, int local, int remote, Detection expected)
    {
        Assert.Equal(expected, MemcachedProtocol.Probe(System.Text.Encoding.ASCII.GetBytes(data), false, local, remote));
    }

    [Fact]
    public void TheCatalogStillGivesRedisAndHttpTheirOwn()
    {
        var catalog = Tattle.Protocols.ProtocolCatalog.Default;
        Assert.Equal("redis", catalog.Detect("GET foo\r\n"u8, false, 40000, 6379).Protocol?.Name);
        Assert.Equal("redis", catalog.Detect("get foo\r\n"u8, false, 40000, 6379).Protocol?.Name);
        Assert.Equal("http", catalog.Detect("GET / HTTP/1.1\r\n"u8, false, 40000, 11211).Protocol?.Name);
        Assert.Equal("memcached", catalog.Detect("get foo\r\n"u8, false, 40000, 11211).Protocol?.Name);
        Assert.Equal("memcached", catalog.Detect("get foo\r\n"u8, false, 40000, 8000).Protocol?.Name);
    }
}
