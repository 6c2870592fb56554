using Tattle.Protocols.Common;
using Tattle.Protocols.Zmtp;
using Tattle.Tests.Protocols.Support;
using Tattle.Tests.Support;
using Wire = Tattle.Tests.Protocols.Zmtp.ZmtpParserTests.Wire;

namespace Tattle.Tests.Protocols.Zmtp;

/// <summary>A REQ and its REP past their handshake, as a service runs for days: what each message costs, and that it is right.</summary>
public sealed class ZmtpSteadyStateTests
{
    [Fact]
    public void ARequesterAskingAgainAndAgain_AllocatesNothingPerMessage()
    {
        var zmtp = new SteadyState(ZmtpProtocol.Info);
        zmtp.Feed(MessageKind.Request, Wire.Start("REQ"));
        zmtp.Feed(MessageKind.Response, Wire.Start("REP"));
        byte[] request = Wire.Message("", "hello"), reply = Wire.Message("", "world!");
        int handshake = zmtp.Count;
        long allocated = Allocations.InSteadyState(Exchange, out int next);

        Assert.Equal(handshake + next, zmtp.Count);
        var last = Assert.IsType<ZmtpMessage>(zmtp.Last);
        Assert.Equal(("message", "REQ", "REP", 2, 5L, new ZmtpReply(2, 6)), (last.Kind, last.SocketType, last.PeerSocketType, last.Frames, last.Bytes, last.Reply));
        Assert.Equal(0, allocated);

        void Exchange(int i)
        {
            zmtp.Feed(MessageKind.Request, request);
            zmtp.Feed(MessageKind.Response, reply);
        }
    }

    [Fact]
    public void EveryCaptureGivesTheSameMessages_RefilledOrKept()
    {
        foreach (string name in ZmtpCaptureTests.All)
        {
            ZmtpCaptureTests.Load(name).AssertSameRefilledOrKept(ZmtpProtocol.Info);
        }
    }

    [Fact]
    public void ARefilledRecord_IsTheRecordANewOneWouldBe_AndAReplyOfOtherSizesIsANewObject()
    {
        var feeder = new StreamFeeder(ZmtpProtocol.Info);
        feeder.Feed(MessageKind.Request, Wire.Start("REQ"), 1, 1);
        feeder.Feed(MessageKind.Response, Wire.Start("REP"), 2, 2);
        feeder.Feed(MessageKind.Request, Wire.Message("", "a"), 10, 10);
        feeder.Feed(MessageKind.Response, Wire.Message("", "1"), 20, 20);
        feeder.Feed(MessageKind.Request, Wire.Message("", "a"), 30, 30);
        feeder.Feed(MessageKind.Response, Wire.Message("", "22"), 40, 40);
        var x = feeder.Messages.Cast<ZmtpMessage>().Where(m => m.Kind == "message").ToList();
        Assert.Equal([new ZmtpReply(2, 1), new ZmtpReply(2, 2)], x.Select(m => m.Reply));
        Assert.NotSame(x[0].Reply, x[1].Reply);

        var ready = feeder.Messages.Cast<ZmtpMessage>().First(m => m.Kind == "ready");
        var r = RecordRefill.AssertEqualsNew<ZmtpRecord>(x[1], ready.ToRecord(new FixedMessageContext()));
        Assert.Equal(("message", "REQ", true, new ZmtpReply(2, 2)), (r.Kind, r.SocketType, r.Request, r.Reply));
        Assert.NotNull(r.LatencyMs);
        var back = RecordRefill.AssertEqualsNew<ZmtpRecord>(ready, r);
        Assert.Equal(("ready", false, null, null), (back.Kind, back.Request, back.Reply, back.LatencyMs));
    }
}
