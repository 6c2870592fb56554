using Tattle.Protocols.Common;

namespace Tattle.Tests.Protocols.Support;

/// <summary>Checks that a parser fed only part of a direction's first frame waits, reporting and dropping nothing.</summary>
public static class PrefixChecks
{
    /// <summary>
    /// Every prefix of each direction's first whole frame (all of the first 64, then every 97th) makes the parser
    /// say NeedMoreData only, with no message and no byte dropped.
    /// </summary>
    public static void FirstFrameNeedsMoreData(ProtocolInfo protocol, RecordedConnection capture)
    {
        foreach (var kind in new[] { MessageKind.Request, MessageKind.Response })
        {
            var bytes = capture.Bytes(kind);
            int first = FirstFrameLength(protocol, bytes, kind);
            for (int n = 0; n < first; n += n < 64 ? 1 : 97)
            {
                var feeder = new StreamFeeder(protocol);
                feeder.Feed(kind, bytes.AsSpan(0, n), 1, 2);
                Assert.Empty(feeder.Messages);
                Assert.Equal(0, feeder.Dropped(kind));
                Assert.All(feeder.Statuses, s => Assert.Equal(ParseStatus.NeedMoreData, s));
            }
        }
    }

    /// <summary>Where the first whole frame ends, as the parser sees it fed everything at once.</summary>
    private static int FirstFrameLength(ProtocolInfo protocol, byte[] bytes, MessageKind kind)
    {
        var parser = protocol.Create(ParserOptions.Default, new StreamFeeder.CollectingSink());
        int total = 0;
        while (true)
        {
            var r = parser.Parse(kind, bytes.AsSpan(total), new StreamContext(1, 2));
            total += r.Consumed;
            if (r.Status != ParseStatus.NeedMoreData || r.Consumed == 0)
            {
                return total;
            }
        }
    }
}
