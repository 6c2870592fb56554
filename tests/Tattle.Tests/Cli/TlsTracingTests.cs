using System.Diagnostics;
using Tattle.Capture.Tls;
using Tattle.Cli.Tracing;
using Tattle.Tests.Support;
using Tattle.Tracking;
using Tattle.Tracking.Connections;

namespace Tattle.Tests.Cli;

/// <summary>The TLS probe worker cannot hold tattle at exit.</summary>
public sealed class TlsTracingTests
{
    /// <summary>Discovery that blocks in ForProcess until released, as an open of a stalled file would.</summary>
    private sealed class StuckDiscovery : ITlsDiscovery, IDisposable
    {
        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public ManualResetEventSlim Left { get; } = new();

        public IReadOnlyList<TlsAttachPoint> System => [];

        public IReadOnlyList<TlsAttachPoint> ForProcess(int pid)
        {
            Entered.Set();
            Release.Wait();
            Left.Set();
            return [];
        }

        public IReadOnlyList<TlsAttachPoint> ForExecutable(string path) => [];

        public void Dispose()
        {
            Release.Set();
            Entered.Dispose();
            Left.Dispose();
        }
    }

    [Fact]
    public void Dispose_WithTheWorkerStuck_ReturnsWithinTheBound_AndSaysWhatItAbandoned()
    {
        using var discovery = new StuckDiscovery();
        var session = new TraceSession(new ListSink(), new NoSocketLookup(), new TraceSettings { ToUnixNs = ns => ns });
        var warnings = new StringWriter();
        using var probes = new TlsProbes(null!); // the stuck job never reaches the probes
        var tls = new TlsTracing(probes, discovery, session, warnings);
        tls.AttachRunning(4242);
        tls.AttachRunning(4243);
        Assert.True(discovery.Entered.Wait(TimeSpan.FromSeconds(5)));
        var clock = Stopwatch.StartNew();
        tls.Dispose();
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TlsTracing.StopTimeout + TimeSpan.FromSeconds(1));
        Assert.Equal("tattle: tls: gave up waiting for the probe worker after 1 s (running of pid 4242; 1 more job dropped)", warnings.ToString().Trim());
    }

    [Fact]
    public void Dispose_WithAnIdleWorker_SaysNothing()
    {
        using var discovery = new StuckDiscovery();
        discovery.Release.Set();
        var session = new TraceSession(new ListSink(), new NoSocketLookup(), new TraceSettings { ToUnixNs = ns => ns });
        var warnings = new StringWriter();
        using var probes = new TlsProbes(null!);
        new TlsTracing(probes, discovery, session, warnings).Dispose();
        Assert.Empty(warnings.ToString());
    }

    [Fact]
    public void Settle_WaitsForTheAttachUnderWay_AndNoLongerThanItsBound()
    {
        using var discovery = new StuckDiscovery();
        var session = new TraceSession(new ListSink(), new NoSocketLookup(), new TraceSettings { ToUnixNs = ns => ns });
        using var probes = new TlsProbes(null!); // no point is found: the attach never reaches the probes
        using var tls = new TlsTracing(probes, discovery, session, new StringWriter());
        tls.AttachRunning(4242);
        Assert.True(discovery.Entered.Wait(TimeSpan.FromSeconds(5)));

        var clock = Stopwatch.StartNew();
        Assert.False(tls.Settle(TimeSpan.FromMilliseconds(50)));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(2));
        Assert.False(discovery.Left.IsSet);

        using var release = new Timer(_ => discovery.Release.Set(), null, 100, Timeout.Infinite);
        Assert.True(tls.Settle(TimeSpan.FromSeconds(10)));
        Assert.True(discovery.Left.IsSet, "Settle returned before the attach under way was done");
    }

    [Fact]
    public void Settle_WithNothingQueued_ReturnsAtOnce()
    {
        using var discovery = new StuckDiscovery();
        var session = new TraceSession(new ListSink(), new NoSocketLookup(), new TraceSettings { ToUnixNs = ns => ns });
        using var probes = new TlsProbes(null!);
        using var tls = new TlsTracing(probes, discovery, session, new StringWriter());
        Assert.True(tls.Settle(TimeSpan.Zero));
    }
}
