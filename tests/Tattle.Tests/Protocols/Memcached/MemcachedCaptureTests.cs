using Tattle.Protocols.Common;
using Tattle.Protocols.Memcached;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Memcached;

/// <summary>Real pymemcache, memccp/memccat and raw meta connections to a real memcached (testdata/memcached/capture.py) replayed through the parser.</summary>
public sealed class MemcachedCaptureTests(ITestOutputHelper output)
{
    public static readonly string[] All = ["pymemcache", "meta", "errors", "bigvalue", "bigget"];

    public static TheoryData<string> Names => [.. All];

    public static RecordedConnection Load(string name) => RecordedConnection.Load("memcached", name);

    /// <summary>"get user:1 -> END 1/0 5 B", "ms a -> HD (quiet)", "set user:2 (noreply)".</summary>
    public static string Summary(MemcachedExchange x)
    {
        string head = $"{x.Command}{(x.Key is null ? "" : " " + x.Key)}{(x.Keys > 1 ? $" +{x.Keys - 1}" : "")}";
        if (x.NoReply)
        {
            return head + " (noreply)";
        }
        string tail = x.Hits is { } h ? $" {h}/{x.Misses}" : "";
        tail += x.Bytes is { } b ? $" {b} B" : "";
        tail += x.Error is null ? "" : $" '{x.Error}'";
        tail += x.Quiet ? " (quiet)" : "";
        return $"{head} -> {x.Result ?? "(none)"}{tail}";
    }

    private List<MemcachedExchange> Run(string name, Random? random = null)
    {
        var feeder = Load(name).Replay(MemcachedProtocol.Info, random: random, maxSegment: 40);
        var exchanges = feeder.Messages.Cast<MemcachedExchange>().ToList();
        if (random is null)
        {
            foreach (var x in exchanges)
            {
                output.WriteLine(Summary(x));
            }
        }
        Assert.Equal(0, feeder.Dropped(MessageKind.Request));
        Assert.Equal(0, feeder.Dropped(MessageKind.Response));
        return exchanges;
    }

    [Fact]
    public void PymemcacheCommandsPairWithTheirReplies()
    {
        var x = Run("pymemcache");
        Assert.Equal(
        [
            "set user:1 -> STORED 5 B", "get user:1 -> END 1/0 5 B", "get missing -> END 0/1 0 B", "set user:2 (noreply)",
            "get user:1 +2 -> END 2/1 11 B", "add user:1 -> NOT_STORED 1 B", "replace user:1 -> STORED 11 B",
            "append user:1 -> STORED 1 B", "prepend user:1 -> STORED 1 B", "gets user:1 -> END 1/0 13 B",
            "cas user:1 -> STORED 7 B", "cas user:1 -> EXISTS 5 B", "set counter -> STORED 2 B", "incr counter -> 15",
            "decr counter -> 13", "incr nocounter -> NOT_FOUND", "touch user:1 -> TOUCHED", "touch missing -> NOT_FOUND",
            "delete user:2 -> DELETED", "delete user:2 -> NOT_FOUND", "stats -> END", "version -> VERSION",
            "flush_all -> OK", "quit (noreply)",
        ], x.Select(Summary));
        Assert.All(x.Where(e => !e.NoReply), e => Assert.True(e.EndNs > e.StartNs));
        Assert.Equal(3, x[4].Keys);
    }

    [Fact]
    public void QuietMetaCommandsArePairedByWhatTheirSilenceMeans()
    {
        var x = Run("meta");
        Assert.Equal(
        [
            "ms user:1 -> HD 5 B", "mg user:1 -> VA 1/0 5 B", "mg missing -> EN 0/1",
            // ms a q, ms b q: silent (stored); the VA naming key a shows it.
            "ms a -> HD 1 B (quiet)", "ms b -> HD 1 B (quiet)", "mg a -> VA 1/0 1 B",
            // mg nothere q: silent (a miss), shown by the VA naming opaque xy.
            "mg nothere -> EN 0/1 (quiet)", "mg b -> VA 1/0 1 B",
            // md a q and ma b q: silent (done), shown by the NF naming opaque 4.
            "md nothere -> NF", "md a -> HD (quiet)", "ma b -> HD (quiet)", "ma nothere -> NF", "mn -> MN",
            "ma b -> VA 1 B", "md b -> HD", "md b -> NF", "me user:1 -> ME", "mg user:1 -> HD 1/0", "ms user:1 -> NS 3 B", "mn -> MN",
        ], x.Select(Summary));
        Assert.Equal(7, x[1].Flags);
    }

    [Fact]
    public void MalformedCommandsTakeTheirErrorLines()
    {
        var x = Run("errors");
        Assert.Equal(
        [
            "bogus -> ERROR", "set k -> CLIENT_ERROR 'bad command line format'", "get -> ERROR",
            "incr k -> CLIENT_ERROR 'invalid numeric delta argument'", "verbosity -> OK", "stats -> OK", "stats -> RESET",
            "stats -> OK", "version -> VERSION",
        ], x.Select(Summary));
    }

    [Fact]
    public void LargeDataBlocksAreSkippedNotBuffered()
    {
        foreach (var (name, kind, summary) in new[]
        {
            ("bigvalue", MessageKind.Request, "set big.bin -> STORED 200000 B"),
            ("bigget", MessageKind.Response, "get big.bin -> END 1/0 200000 B"),
        })
        {
            var feeder = Load(name).Replay(MemcachedProtocol.Info);
            var messages = feeder.Messages.Cast<MemcachedExchange>().ToList();
            Assert.Equal(summary, Summary(messages[0]));
            Assert.True(feeder.MaxBuffered(kind) <= 65_536, $"{feeder.MaxBuffered(kind)} bytes held");
        }
    }

    [Fact]
    public void TheBinaryProtocolIsMarkedOnly()
    {
        var feeder = Load("binary").Replay(MemcachedProtocol.Info);
        var x = Assert.Single(feeder.Messages.Cast<MemcachedExchange>());
        Assert.Equal(("binary", true), (x.Command, x.NoReply));
        Assert.True(feeder.Stopped);
        Assert.Equal(Detection.Request, MemcachedProtocol.Probe(Load("binary").Requests, false, 40000, MemcachedProtocol.Port));
        Assert.Equal(Detection.No, MemcachedProtocol.Probe(Load("binary").Requests, false, 40000, 8080));
    }

    [Fact]
    public void AGapInTheMiddleResyncsAndTheFollowingCommandsAreRecovered()
    {
        // Tracing loses the middle of both directions: "get missing" and "set user:2" with the end of the get's END.
        var c = Load("pymemcache");
        var whole = Run("pymemcache").Select(Summary).ToList();
        int cut = "set user:1 0 0 5\r\nhello\r\nget user:1\r\nget".Length;
        int lost = c.Requests.AsSpan().IndexOf("get user:1 missing"u8) - cut - "ld!\r\n".Length;
        int replyCut = "STORED\r\nVALUE user:1 0 5\r\nhello\r\nEND\r\nEN".Length;
        var feeder = new StreamFeeder(MemcachedProtocol.Info);
        feeder.Feed(MessageKind.Request, c.Requests.AsSpan(0, cut), 1, 2);
        feeder.Feed(MessageKind.Response, c.Responses.AsSpan(0, replyCut), 3, 4);
        Assert.False(feeder.Gap(MessageKind.Request, lost, 5));
        Assert.False(feeder.Gap(MessageKind.Response, "D\r\n".Length, 5));
        feeder.Feed(MessageKind.Request, c.Requests.AsSpan(cut + lost), 6, 7);
        feeder.Feed(MessageKind.Response, c.Responses.AsSpan(replyCut + 3), 8, 9);
        feeder.Close(10);
        var x = feeder.Messages.Cast<MemcachedExchange>().Select(Summary).ToList();
        foreach (string s in x)
        {
            output.WriteLine(s);
        }
        // The "get" held when the gap came, and the end of the lost block before the next command line.
        Assert.Equal("get".Length + "ld!\r\n".Length, feeder.Dropped(MessageKind.Request));
        Assert.Equal("EN".Length, feeder.Dropped(MessageKind.Response));
        Assert.Equal(whole.Where(s => s is not ("get missing -> END 0/1 0 B" or "set user:2 (noreply)")).Order(), x.Order());
    }

    [Fact]
    public void MetaValueBlocksAbsorbGapsAndStayInStep()
    {
        var feeder = new StreamFeeder(MemcachedProtocol.Info);
        feeder.Feed(MessageKind.Request, "mg k v\r\nmn\r\n"u8, 1, 2);
        feeder.Feed(MessageKind.Response, "VA 100 \r\n0123"u8, 3, 4);
        Assert.True(feeder.Gap(MessageKind.Response, 90, 5));
        feeder.Feed(MessageKind.Response, "456789\r\nMN\r\n"u8, 6, 7);
        Assert.Equal(["mg k -> VA 1/0 100 B", "mn -> MN"], feeder.Messages.Cast<MemcachedExchange>().Select(Summary));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void RandomSplitsGiveTheSameMessages(string name)
    {
        var whole = Run(name).Select(Summary).ToList();
        for (int seed = 0; seed < 10; seed++)
        {
            Assert.Equal(whole, Run(name, new Random(seed)).Select(Summary));
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryPrefixNeedsMoreDataAndReportsNoEarlyMessage(string name) =>
        PrefixChecks.FirstFrameNeedsMoreData(MemcachedProtocol.Info, Load(name));
}
