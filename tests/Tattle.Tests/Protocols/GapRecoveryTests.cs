using Tattle.Protocols.Common;
using Tattle.Protocols.Postgres;
using Tattle.Protocols.Redis;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols;

/// <summary>
/// Real captures replayed with a stretch of one direction lost in the middle, as the tracker reports bytes the
/// kernel never handed over: the parser resyncs, and every message after the damaged one comes out as it does
/// from the whole capture.
/// </summary>
public sealed class GapRecoveryTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, ProtocolInfo> Protocols = new()
    {
        ["postgres"] = PostgresProtocol.Info,
        ["redis"] = RedisProtocol.Info,
    };

    /// <summary>
    /// The gap starts at <paramref name="marker"/> in <paramref name="direction"/> and takes <paramref name="length"/>
    /// bytes; <paramref name="damaged"/> is the index, in the whole capture's messages, of the one it falls in.
    /// </summary>
    [Theory]
    [InlineData("postgres", "script", MessageKind.Request, "update t set", 10, 3)]
    [InlineData("postgres", "script", MessageKind.Response, "three", 4, 2)]
    [InlineData("redis", "pipe100", MessageKind.Response, "value 50", 4, 51)]
    [InlineData("postgres", "extended", MessageKind.Request, "select generate_series", 6, 2)]
    [InlineData("redis", "pipe100", MessageKind.Request, "key:50", 5, 50)]
    public void AfterAGapInTheMiddle_TheFollowingMessagesAreRecovered(
        string folder, string capture, MessageKind direction, string marker, int length, int damaged)
    {
        var protocol = Protocols[folder];
        var recording = RecordedConnection.Load(folder, capture);
        var whole = recording.Replay(protocol).Messages.Select(FixedMessageContext.Fields).ToList();
        var gap = new InjectedGap(direction, recording.IndexOf(direction, marker), length);

        var feeder = recording.ReplayWithGap(protocol, gap);
        var recovered = feeder.Messages.Select(FixedMessageContext.Fields).ToList();
        output.WriteLine($"whole:\n{string.Join("\n", whole)}\nwith the gap:\n{string.Join("\n", recovered)}");

        Assert.InRange(damaged, 0, whole.Count - 2);
        var after = whole.Skip(damaged + 1).ToList();
        Assert.True(recovered.Count >= after.Count, $"{recovered.Count} messages, fewer than the {after.Count} after the gap");
        Assert.Equal(after, recovered.TakeLast(after.Count));
        // Nothing is invented: at most the damaged message is reported in its place (partly, or twice as parts).
        Assert.InRange(recovered.Count, after.Count, whole.Count + 1);
        Assert.Equal(whole.Take(damaged), recovered.Take(damaged));
    }
}
