using Tattle.Output.Console;
using Tattle.Protocols.Http;
using Tattle.Records;

namespace Tattle.Tests.Output.Console;

/// <summary>--live-rate: a saturated server's exchanges are sampled in the live view and the rest counted, never lost silently.</summary>
public sealed class LiveRateLimitTests
{
    private const long T0 = 1_700_000_000_000_000_000;
    private const long Ms = 1_000_000;

    private static HttpRecord Http(long ns, int i) => new()
    {
        TimestampNs = ns,
        Pid = 7,
        Comm = "nginx",
        Conn = "c1",
        Role = "server",
        Method = "GET",
        Path = "/r" + i,
        Status = 200,
        LatencyMs = 0.1,
    };

    private static string[] Lines(StringWriter text) => text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void UnderTheRate_EveryLineShows()
    {
        var text = new StringWriter { NewLine = "\n" };
        using (var view = new LiveView(text, color: false, T0) { MaxLinesPerSecond = 10 })
        {
            // 2 lines a second for 20 s: never more than the rate.
            for (int i = 0; i < 40; i++)
            {
                view.Write(Http(T0 + (i * 500 * Ms), i));
            }
            Assert.Equal(0, view.Folded);
        }
        Assert.Equal(40, Lines(text).Length);
    }

    [Fact]
    public void ABurst_ShowsFiveSecondsWorth_ThenTheRate_AndSaysWhatItFolded()
    {
        var text = new StringWriter { NewLine = "\n" };
        long folded;
        using (var view = new LiveView(text, color: false, T0) { MaxLinesPerSecond = 10 })
        {
            // 1000 requests a second for 3 s, and a connection failure in the middle, which is never folded.
            for (int i = 0; i < 3000; i++)
            {
                view.Write(Http(T0 + (i * Ms), i));
                if (i == 1500)
                {
                    view.Write(new ConnFailRecord { TimestampNs = T0 + (i * Ms), Pid = 7, Comm = "nginx", Conn = "c2", Proto = "tcp", Role = "client", Fd = 4, Remote = new("10.0.0.1", 80), Error = "ECONNREFUSED" });
                }
                if (i == 2999)
                {
                    view.Write(new ConnCloseRecord { TimestampNs = T0 + (i * Ms), Pid = 7, Comm = "nginx", Conn = "c1", Proto = "tcp", Role = "server", Fd = 3, Remote = new("10.0.0.2", 5000), BytesSent = 1, BytesRecv = 1, DurationMs = 3000, Unseen = [] });
                }
            }
            folded = view.Folded;
        }
        string[] lines = Lines(text);
        string[] http = [.. lines.Where(l => l.Contains(" http GET ", StringComparison.Ordinal))];
        // The bucket holds 50 lines and refills 10 a second: about 50 + 3 s x 10 of 3000.
        Assert.InRange(http.Length, 78, 82);
        Assert.Single(lines, l => l.Contains("connect failed", StringComparison.Ordinal));
        string[] folds = [.. lines.Where(l => l.Contains("tattle[0] folded", StringComparison.Ordinal))];
        // One line a second while folding, and the rest when the view closes.
        Assert.InRange(folds.Length, 2, 4);
        long said = folds.Sum(l => long.Parse(l.Split("folded ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(folded, said);
        Assert.Equal(3000 + 1 - http.Length, folded); // every http line and the close: shown or counted
        Assert.Contains(folds, l => l.Contains("(http ", StringComparison.Ordinal) && l.EndsWith(": over --live-rate 10", StringComparison.Ordinal));
        Assert.Contains(folds, l => l.Contains("conn.close 1", StringComparison.Ordinal));
    }

    [Fact]
    public void WithoutARate_NothingIsFolded()
    {
        var text = new StringWriter { NewLine = "\n" };
        using (var view = new LiveView(text, color: false, T0))
        {
            for (int i = 0; i < 5000; i++)
            {
                view.Write(Http(T0 + i, i));
            }
        }
        Assert.Equal(5000, Lines(text).Length);
    }

    [Fact]
    public void TheSummary_SaysHowManyLinesWereFolded()
    {
        var text = new StringWriter { NewLine = "\n" };
        using (var view = new LiveView(text, color: false, T0) { MaxLinesPerSecond = 1 })
        {
            for (int i = 0; i < 100; i++)
            {
                view.Write(Http(T0 + i, i));
            }
            view.Summary(new SummaryRecord { TimestampNs = T0 + 100, Pid = 0, Comm = "", Rows = [], DurationMs = 1, Events = 200, Lost = 0, Processes = 1 });
        }
        Assert.Contains("live view: 95 lines folded at --live-rate 1 (--live-rate 0 shows every line; --json FILE keeps every record)", text.ToString(), StringComparison.Ordinal);
    }
}
