using Tattle.Capture.Events;
using Tattle.Capture.Probes;
using Tattle.Records;

namespace Tattle.Tracking.Calls;

/// <summary>What a session does with probed calls (tattle probe).</summary>
public sealed record CallSettings
{
    /// <summary>The probed functions, by the number the kernel's records carry.</summary>
    public required ProbedFunctions Functions { get; init; }

    /// <summary>--count: no record per call, only the per-function table in the summary.</summary>
    public bool CountOnly { get; init; }
}

/// <summary>
/// Turns probed calls into call records and per-function counts, and ties each call to the connections its thread
/// used while it ran (a resolver's DNS query, the request a curl_easy_perform made).
/// </summary>
internal sealed class CallRecorder(CallSettings settings, RecordWriter writer, bool redact)
{
    private const int TrailLength = 32;
    private const int MaxThreads = 8192;
    private const int MaxHandles = 4096;

    private readonly Dictionary<int, Trail> _trails = [];
    private readonly Dictionary<(string Library, string Function), FunctionStats> _stats = [];
    private readonly Dictionary<(int Pid, ulong Handle), string> _curlUrls = [];

    /// <summary>Records calls whose function number is not known (never expected: counted rather than thrown).</summary>
    public long Unknown { get; private set; }

    /// <summary>The thread used a connection (it sent or received on it) at <paramref name="monoNs"/>.</summary>
    public void Used(int tid, long monoNs, string conn)
    {
        if (!_trails.TryGetValue(tid, out var trail))
        {
            if (_trails.Count >= MaxThreads)
            {
                _trails.Clear(); // a bound, not a policy: threads come and go in the thousands only in odd programs
            }
            trail = new Trail();
            _trails[tid] = trail;
        }
        trail.Add(monoNs, conn);
    }

    public void OnCall(in CallEvent e, ReadOnlySpan<byte> slots)
    {
        if (settings.Functions[e.Function] is not { } f)
        {
            Unknown++;
            return;
        }
        var signature = f.Signature;
        var args = new List<CallValue>();
        if (signature is not null)
        {
            for (int i = 0; i < signature.Arguments.Count; i++)
            {
                args.Add(CallValues.Argument(in e, slots, signature, i, redact));
            }
        }
        string? url = null;
        if (f.Function == "curl_easy_setopt" && args.Count == 3)
        {
            int option = (int)(args[1].Signed ?? 0);
            args[2] = CallValues.CurlOption(option, args[2], e.Args[2], redact);
            if (option == CallValues.CurlOptUrl && args[2].Text is { } u)
            {
                if (_curlUrls.Count >= MaxHandles)
                {
                    _curlUrls.Clear();
                }
                _curlUrls[(e.Pid, e.Args[0])] = u;
            }
        }
        else if (f.Function == "curl_easy_perform")
        {
            url = _curlUrls.GetValueOrDefault((e.Pid, e.Args[0]));
        }
        var ret = CallValues.Result(in e, signature);
        double? durationUs = e.EntryOnly ? null : Math.Max(0, e.TimestampNs - e.StartNs) / 1000.0;
        if (f.Hidden)
        {
            return;
        }
        Count(f, durationUs, CallValues.IsError(ret, signature));
        if (settings.CountOnly)
        {
            return;
        }
        writer.Write(new CallRecord
        {
            TimestampNs = writer.ToUnixNs(e.StartNs),
            Pid = e.Pid,
            Comm = writer.CommOf(e.Pid),
            Tid = e.Tid,
            Function = f.Function,
            Library = Path.GetFileName(f.Library),
            DurationUs = durationUs,
            Ret = ret,
            Args = args,
            ArgNames = signature?.Arguments.Select(a => a.Name).ToList() ?? [],
            Url = url,
            Conns = e.EntryOnly ? [] : _trails.GetValueOrDefault(e.Tid)?.Between(e.StartNs, e.TimestampNs) ?? [],
        });
    }

    /// <summary>Per function, in the order of their total time (as ltrace -c), then by name.</summary>
    public IReadOnlyList<CallStats> Stats() =>
    [
        .. _stats.Values.Select(s => new CallStats
        {
            Library = Path.GetFileName(s.Function.Library),
            Function = s.Function.Function,
            Calls = s.Calls,
            Errors = s.Errors,
            TotalUs = s.Latencies?.TotalUs,
            P50Us = s.Latencies?.PercentileUs(50),
            P99Us = s.Latencies?.PercentileUs(99),
            MaxUs = s.Latencies?.MaxUs,
        }).OrderByDescending(s => s.TotalUs ?? 0).ThenByDescending(s => s.Calls).ThenBy(s => s.Function, StringComparer.Ordinal),
    ];

    private void Count(ProbedFunction f, double? durationUs, bool error)
    {
        // The sites of one USDT probe, or one library's copies in two paths, count as one function.
        if (!_stats.TryGetValue((f.Library, f.Function), out var s))
        {
            s = new FunctionStats(f);
            _stats[(f.Library, f.Function)] = s;
        }
        s.Calls++;
        if (error)
        {
            s.Errors++;
        }
        if (durationUs is { } us)
        {
            (s.Latencies ??= new LatencyHistogram()).RecordUs((long)Math.Round(us));
        }
    }

    private sealed class FunctionStats(ProbedFunction function)
    {
        public ProbedFunction Function { get; } = function;

        public long Calls { get; set; }

        public long Errors { get; set; }

        public LatencyHistogram? Latencies { get; set; }
    }

    /// <summary>The last connections a thread used, with when: a ring.</summary>
    private sealed class Trail
    {
        private readonly (long MonoNs, string Conn)[] _entries = new (long, string)[TrailLength];
        private int _next;
        private int _count;

        public void Add(long monoNs, string conn)
        {
            int last = (_next + TrailLength - 1) % TrailLength;
            if (_count > 0 && _entries[last].Conn == conn)
            {
                _entries[last] = (monoNs, conn); // the same connection again: one entry, the latest time
                return;
            }
            _entries[_next] = (monoNs, conn);
            _next = (_next + 1) % TrailLength;
            _count = Math.Min(_count + 1, TrailLength);
        }

        public IReadOnlyList<string> Between(long fromNs, long toNs)
        {
            var list = new List<string>();
            for (int i = 0; i < _count; i++)
            {
                var (ns, conn) = _entries[(_next - _count + i + TrailLength) % TrailLength];
                if (ns >= fromNs && ns <= toNs && !list.Contains(conn))
                {
                    list.Add(conn);
                }
            }
            return list;
        }
    }
}
