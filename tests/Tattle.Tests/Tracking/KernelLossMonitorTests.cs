using System.Globalization;
using System.Text.RegularExpressions;
using Tattle.Capture.Bpf;
using Tattle.Capture.Events;
using Tattle.Tests.Support;
using Tattle.Tracking;

namespace Tattle.Tests.Tracking;

/// <summary>Growth of the kernel's counters becomes loss events, the evictions of its LRU tables included.</summary>
public sealed partial class KernelLossMonitorTests
{
    private sealed class LossSink : ITraceEventSink
    {
        public List<LossEvent> Losses { get; } = [];

        public void OnFork(in ProcessFork e)
        {
        }

        public void OnExec(in ProcessExec e)
        {
        }

        public void OnExit(in ProcessExit e)
        {
        }

        public void OnSocket(in SocketEvent e)
        {
        }

        public void OnData(in DataEvent e, ReadOnlySpan<byte> payload)
        {
        }

        public void OnLoss(in LossEvent e) => Losses.Add(e);
    }

    private static KernelStats Stats(ulong socks, ulong tls) => new(0, 0, 0, 0, 0, 0, 0, 0, SocksCreated: socks, TlsSessionsCreated: tls);

    [Fact]
    public void EntriesMadePastATablesSize_AreReportedAsEvictions_OnceEach()
    {
        var monitor = new KernelLossMonitor();
        var sink = new LossSink();
        monitor.Update(Stats(KernelStats.SocksCapacity, 10), 1, sink);
        Assert.Empty(sink.Losses); // full, nothing pushed out yet

        monitor.Update(Stats(KernelStats.SocksCapacity + 5, KernelStats.TlsSessionsCapacity + 2), 2, sink);
        monitor.Update(Stats(KernelStats.SocksCapacity + 8, KernelStats.TlsSessionsCapacity + 2), 3, sink);
        Assert.Equal([5L, 2L, 3L], sink.Losses.Select(l => l.Count));
        Assert.Contains("socket table full", sink.Losses[0].Where);
        Assert.Contains("TLS session table full", sink.Losses[1].Where);
        Assert.Contains("socket table full", sink.Losses[2].Where);
    }

    [Fact]
    public void TheCapacities_AreTheKernelTables()
    {
        var header = File.ReadAllText(Path.Combine(Repo.Root, "bpf", "tattle.h"));
        ulong Define(string name) => ulong.Parse(DefineRegex().Matches(header).Single(m => m.Groups[1].Value == name).Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.Equal(KernelStats.SocksCapacity, Define("TATTLE_SOCKS_MAX"));
        Assert.Equal(KernelStats.TlsSessionsCapacity, Define("TATTLE_TLS_CONNS_MAX"));
        Assert.Equal(KernelStats.Count, int.Parse(Regex.Match(header, @"TATTLE_STAT_COUNT = (\d+)").Groups[1].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"#define (\w+) (\d+)")]
    private static partial Regex DefineRegex();
}
