using Tattle.Capture.Bpf;
using Tattle.Capture.Events;

namespace Tattle.Tracking;

/// <summary>Turns growth of the kernel's loss counters into loss events, so no drop goes unreported.</summary>
public sealed class KernelLossMonitor
{
    private KernelStats _last;

    /// <summary>The most recent counters read.</summary>
    public KernelStats Last => _last;

    /// <summary>Compares the counters with the previous reading and reports what grew.</summary>
    public void Update(KernelStats now, long nowMonoNs, ITraceEventSink sink)
    {
        Report(now.DataDropped - _last.DataDropped, "kernel ring buffer full: data records", nowMonoNs, sink);
        Report(now.OtherDropped - _last.OtherDropped, "kernel ring buffer full: process and socket records", nowMonoNs, sink);
        Report(now.CallsDropped - _last.CallsDropped, "kernel in-flight syscall table full", nowMonoNs, sink);
        Report(now.TracedFull - _last.TracedFull, "kernel traced-process table full: children not followed", nowMonoNs, sink);
        // An evicted socket that is used again starts its byte positions afresh; an evicted TLS session its own.
        Report(now.SocksEvicted - _last.SocksEvicted, "kernel socket table full: oldest sockets' byte positions forgotten", nowMonoNs, sink);
        Report(now.TlsSessionsEvicted - _last.TlsSessionsEvicted, "kernel TLS session table full: oldest sessions' sockets forgotten", nowMonoNs, sink);
        _last = now;
    }

    private static void Report(ulong delta, string where, long nowMonoNs, ITraceEventSink sink)
    {
        if (delta > 0)
        {
            sink.OnLoss(new LossEvent(nowMonoNs, (long)delta, where));
        }
    }
}
