using HdrHistogram;

namespace Tattle.Tracking;

/// <summary>
/// Durations in microseconds, for percentiles. The histogram answers with the top of a value's bucket (up to 1% above
/// it); the exact extremes keep a percentile inside what was seen, so a single value reads as itself.
/// </summary>
internal sealed class Latencies
{
    /// <summary>The longest duration kept apart (an hour); longer ones count as this.</summary>
    public const long MaxUs = 3_600_000_000;

    private readonly IntHistogram _histogram = new(MaxUs, 2);
    private long _min = long.MaxValue;
    private long _max;

    /// <summary>Values recorded.</summary>
    public long Count { get; private set; }

    /// <summary>Sum of the values recorded.</summary>
    public long TotalUs { get; private set; }

    /// <summary>The largest value recorded.</summary>
    public long MaxSeenUs => _max;

    public void Record(long us)
    {
        us = Math.Clamp(us, 1, MaxUs);
        _histogram.RecordValue(us);
        _min = Math.Min(_min, us);
        _max = Math.Max(_max, us);
        Count++;
        TotalUs += us;
    }

    public long Percentile(double percentile) => Math.Clamp(_histogram.GetValueAtPercentile(percentile), _min, _max);
}
