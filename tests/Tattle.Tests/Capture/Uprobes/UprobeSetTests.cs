using Tattle.Capture.Tls;

namespace Tattle.Tests.Capture.Uprobes;

/// <summary>Links close on threads that exist only while there is something to close.</summary>
public sealed class UprobeSetTests
{
    /// <summary>A link whose close waits, as a uprobe link's waits for an RCU grace period.</summary>
    private sealed class SlowLink(Action<int> closing) : IDisposable
    {
        public void Dispose()
        {
            closing(Environment.CurrentManagedThreadId);
            Thread.Sleep(50);
        }
    }

    [Fact]
    public void NoCloserThreadExists_UntilLinksClose()
    {
        using var probes = new TlsProbes(null!);
        Assert.Equal(0, probes.Closers);
    }

    [Fact]
    public void ManyLinks_CloseInParallel_OnAtMostSixteenThreads_WhichThenEnd()
    {
        using var probes = new TlsProbes(null!);
        var threads = new HashSet<int>();
        int closed = 0;
        var links = Enumerable.Range(0, 40).Select(_ => (IDisposable)new SlowLink(id =>
        {
            lock (threads)
            {
                threads.Add(id);
            }
            Interlocked.Increment(ref closed);
        })).ToList();

        probes.Close(links);

        Assert.InRange(probes.Closers, 2, 16);
        SpinWait.SpinUntil(() => Volatile.Read(ref closed) == 40, TimeSpan.FromSeconds(10));
        Assert.Equal(40, Volatile.Read(ref closed));
        Assert.InRange(threads.Count, 2, 16);
        // Idle closers end: none is left to be walked at every garbage collection.
        Assert.True(SpinWait.SpinUntil(() => probes.Closers == 0, UprobeSetIdle + TimeSpan.FromSeconds(5)), $"{probes.Closers} closers still running");

        // A later close starts a closer again.
        int late = 0;
        probes.Close([new SlowLink(_ => Interlocked.Increment(ref late))]);
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref late) == 1, TimeSpan.FromSeconds(5)));
    }

    private static TimeSpan UprobeSetIdle => Tattle.Capture.Uprobes.UprobeSet<TlsAttachPoint>.CloserIdle;
}
