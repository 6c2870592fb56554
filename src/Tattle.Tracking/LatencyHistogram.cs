using HdrHistogram;

namespace Tattle.Tracking;

/// <summary>
/// Latencies of one group of requests, for their p50 and p99: the end-of-run summary's rows, the report's
/// endpoints, and the durations of probed calls. The histogram answers with the top of a value's bucket (up to 1% above it); the exact extremes keep
/// a percentile inside what was seen, so a single request reads as itself.
/// </summary>
public sealed class LatencyHistogram
{
    /// <summary>1 µs to 1 hour; a latency beyond is counted as 1 hour.</summary>
    public const long MaxLatencyUs = 3_600_000_000;

    private readonly IntHistogram _histogram = new(MaxLatencyUs, 2);
    private long _min = long.MaxValue;
    private long _max;

    /// <summary>How many latencies were recorded.</summary>
    public long Count { get; private set; }

    /// <summary>The sum of the latencies recorded, in microseconds.</summary>
    public long TotalUs { get; private set; }

    /// <summary>The longest latency recorded, in microseconds (0 when none).</summary>
    public long MaxUs => _max;

    /// <summary>Records a latency in milliseconds (kept with microsecond resolution).</summary>
    public void RecordMs(double ms) => RecordUs(ToUs(ms));

    /// <summary>Milliseconds as the whole microseconds a latency is kept in.</summary>
    public static long ToUs(double ms) => (long)Math.Round(ms * 1000);

    /// <summary>Records a latency in microseconds.</summary>
    public void RecordUs(long us)
    {
        us = Math.Clamp(us, 1, MaxLatencyUs);
        _histogram.RecordValue(us);
        _min = Math.Min(_min, us);
        _max = Math.Max(_max, us);
        Count++;
        TotalUs += us;
    }

    /// <summary>The latency at <paramref name="percentile"/> in microseconds; null when nothing was recorded.</summary>
    public long? PercentileUs(double percentile) =>
        Count == 0 ? null : Math.Clamp(_histogram.GetValueAtPercentile(percentile), _min, _max);

    /// <summary>The latency at <paramref name="percentile"/> in milliseconds; null when nothing was recorded.</summary>
    public double? PercentileMs(double percentile) => PercentileUs(percentile) / 1000.0;
}
