using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Memcached;
using Tattle.Tests.Protocols.Support;
using Tattle.Tests.Support;

namespace Tattle.Tests.Protocols.Memcached;

/// <summary>A cache client that repeats its commands, as every one does: what each one costs, and that it is right.</summary>
public sealed class MemcachedSteadyStateTests
{
    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    [Fact]
    public void AClientRepeatingItsCommands_AllocatesNothingPerExchange()
    {
        // A get that hits, a set, a meta get and an incr in turn on one connection, with the same answers each time.
        var memcached = new SteadyState(MemcachedProtocol.Info);
        byte[][] commands = [B("get user:1\r\n"), B("set user:2 3 0 5\r\nalice\r\n"), B("mg user:1 v f O7\r\n"), B("incr n 1\r\n")];
        byte[][] replies = [B("VALUE user:1 0 5\r\nalice\r\nEND\r\n"), B("STORED\r\n"), B("VA 5 f0 O7\r\nalice\r\n"), B("16\r\n")];
        long allocated = Allocations.InSteadyState(Exchange, out int next);

        Assert.Equal(next, memcached.Count);
        var last = Assert.IsType<MemcachedExchange>(memcached.Last);
        (string, string, string)[] expected = [("get", "user:1", "END"), ("set", "user:2", "STORED"), ("mg", "user:1", "VA"), ("incr", "n", "16")];
        Assert.Equal(expected[(next - 1) % 4], (last.Command, last.Key!, last.Result!));
        Assert.Equal(0, allocated);

        void Exchange(int i)
        {
            memcached.Feed(MessageKind.Request, commands[i % 4]);
            memcached.Feed(MessageKind.Response, replies[i % 4]);
        }
    }

    [Fact]
    public void EveryCaptureGivesTheSameExchanges_RefilledOrKept()
    {
        foreach (string name in MemcachedCaptureTests.All)
        {
            MemcachedCaptureTests.Load(name).AssertSameRefilledOrKept(MemcachedProtocol.Info);
        }
    }

    [Fact]
    public void ARefilledRecord_IsTheRecordANewOneWouldBe()
    {
        var feeder = new StreamFeeder(MemcachedProtocol.Info);
        feeder.Feed(MessageKind.Request, B("incr n x\r\nget a b c\r\nset k 0 0 1 noreply\r\nv\r\n"), 0, 10);
        feeder.Feed(MessageKind.Response, B("CLIENT_ERROR invalid numeric delta argument\r\nVALUE a 9 2\r\nhi\r\nEND\r\n"), 20, 30);
        var x = feeder.Messages.Cast<MemcachedExchange>().ToList();
        Assert.Equal(["set", "incr", "get"], x.Select(e => e.Command));

        // An error refilled over a hit, a hit over an error, and a command without a reply over a hit.
        var error = RecordRefill.AssertEqualsNew<MemcachedRecord>(x[1], x[2].ToRecord(new FixedMessageContext()));
        Assert.Equal(("CLIENT_ERROR", "invalid numeric delta argument", "invalid"), (error.Result, error.Error, error.ErrorType));
        var hit = RecordRefill.AssertEqualsNew<MemcachedRecord>(x[2], x[1].ToRecord(new FixedMessageContext()));
        Assert.Equal(("a", 3, 1, 2, 9L, 2L), (hit.Key, hit.Keys, hit.Hits, hit.Misses, hit.Flags, hit.Bytes));
        var noReply = RecordRefill.AssertEqualsNew<MemcachedRecord>(x[0], x[2].ToRecord(new FixedMessageContext()));
        Assert.True(noReply.NoReply);
        Assert.Null(noReply.LatencyMs);
    }
}
