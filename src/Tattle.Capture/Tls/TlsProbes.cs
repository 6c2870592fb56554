using System.Collections.Concurrent;
using Tattle.Capture.Bpf;
using Tattle.Interop;

namespace Tattle.Capture.Tls;

/// <summary>
/// The TLS probes attached to traced processes. With uprobe_multi, one entry and one return link per library and
/// process; otherwise an entry and a return link per function. Links are closed on a background thread: the
/// kernel waits for a grace period per uprobe link it closes, and the event loop must not stall meanwhile.
/// </summary>
public sealed class TlsProbes : IDisposable
{
    private readonly BpfTracer _tracer;
    private readonly Dictionary<int, ProcessProbes> _byPid = [];
    private readonly BlockingCollection<IDisposable> _closing = [];
    private readonly Thread _closer;

    public TlsProbes(BpfTracer tracer)
    {
        _tracer = tracer;
        _closer = new Thread(CloseLinks) { IsBackground = true, Name = "tattle-uprobe-close" };
        _closer.Start();
    }

    /// <summary>Links attached and not yet released.</summary>
    public int Links => _byPid.Values.Sum(p => p.Links.Count);

    /// <summary>Functions probed in processes so far (a function in two processes counts twice).</summary>
    public int FunctionsAttached { get; private set; }

    /// <summary>Why attaching failed, once per file (empty when everything attached).</summary>
    public List<string> Failures { get; } = [];

    /// <summary>Attaches what is not attached yet for <paramref name="pid"/>; returns how many functions were added.</summary>
    public int Attach(int pid, IEnumerable<TlsAttachPoint> points)
    {
        if (!_byPid.TryGetValue(pid, out var probes))
        {
            probes = new ProcessProbes();
            _byPid[pid] = probes;
        }
        int added = 0;
        foreach (var file in points.Where(p => !probes.Attached.Contains((p.Path, p.FileOffset))).GroupBy(p => p.Path))
        {
            var fresh = file.DistinctBy(p => p.FileOffset).ToList();
            try
            {
                AttachFile(pid, file.Key, fresh, probes.Links);
            }
            catch (Exception e) when (e is NativeCallException { ErrorNumber: Errno.ESRCH } or BpfLoadException { ErrorNumber: Errno.ESRCH })
            {
                break; // the process is gone
            }
            catch (Exception e) when (e is NativeCallException or BpfLoadException)
            {
                string failure = $"{file.Key}: {e.Message}";
                if (!Failures.Contains(failure))
                {
                    Failures.Add(failure);
                }
                continue;
            }
            foreach (var p in fresh)
            {
                probes.Attached.Add((p.Path, p.FileOffset));
                probes.Points.Add(p);
            }
            added += fresh.Count;
        }
        FunctionsAttached += added;
        return added;
    }

    /// <summary>What is attached in the process (a forked child runs the same objects).</summary>
    public IReadOnlyList<TlsAttachPoint> PointsOf(int pid) => _byPid.TryGetValue(pid, out var p) ? p.Points : [];

    /// <summary>Whether anything was attached for the process.</summary>
    public bool Has(int pid) => _byPid.TryGetValue(pid, out var p) && p.Links.Count > 0;

    /// <summary>Releases the process's links (it exited); they close in the background.</summary>
    public void Detach(int pid)
    {
        if (_byPid.Remove(pid, out var probes))
        {
            foreach (var link in probes.Links)
            {
                _closing.Add(link);
            }
        }
    }

    public void Dispose()
    {
        foreach (var pid in _byPid.Keys.ToList())
        {
            Detach(pid);
        }
        _closing.CompleteAdding();
        _closer.Join();
        _closing.Dispose();
    }

    private void AttachFile(int pid, string path, List<TlsAttachPoint> points, List<IDisposable> links)
    {
        if (_tracer.UprobeMulti)
        {
            var offsets = points.Select(p => p.FileOffset).ToArray();
            var cookies = points.Select(p => (ulong)p.Kind).ToArray();
            links.Add(_tracer.AttachTlsProbes(pid, path, offsets, cookies, atReturn: false));
            var returning = points.Where(p => p.NeedsReturn).ToList();
            if (returning.Count > 0)
            {
                links.Add(_tracer.AttachTlsProbes(pid, path, [.. returning.Select(p => p.FileOffset)],
                    [.. returning.Select(p => (ulong)p.Kind)], atReturn: true));
            }
            return;
        }
        foreach (var point in points)
        {
            links.Add(_tracer.AttachTlsProbe(pid, path, point.FileOffset, (ulong)point.Kind, atReturn: false));
            if (point.NeedsReturn)
            {
                links.Add(_tracer.AttachTlsProbe(pid, path, point.FileOffset, (ulong)point.Kind, atReturn: true));
            }
        }
    }

    private void CloseLinks()
    {
        // Several at once: each close mostly waits for the kernel (a grace period), not for a CPU.
        Parallel.ForEach(Partitioner.Create(_closing.GetConsumingEnumerable(), EnumerablePartitionerOptions.NoBuffering),
            new ParallelOptions { MaxDegreeOfParallelism = 8 }, link => link.Dispose());
    }

    private sealed class ProcessProbes
    {
        public HashSet<(string Path, ulong Offset)> Attached { get; } = [];

        public List<TlsAttachPoint> Points { get; } = [];

        public List<IDisposable> Links { get; } = [];
    }
}
