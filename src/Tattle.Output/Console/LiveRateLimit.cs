using System.Globalization;
using System.Text;

namespace Tattle.Output.Console;

/// <summary>
/// The live view's budget of lines under load (--live-rate): a token bucket in the records' own time, refilled at
/// the rate and holding five seconds of it, so a burst shows whole and a saturated server shows a sample of its
/// exchanges instead of tens of thousands of lines a second no one reads and the terminal falls behind on. What it
/// folds is counted per record type and said once a second.
/// </summary>
internal sealed class LiveRateLimit
{
    private const int BurstSeconds = 5;
    private const long Second = 1_000_000_000;

    private readonly double _perNs;
    private readonly double _capacity;
    private readonly SortedDictionary<string, long> _pending = new(StringComparer.Ordinal);
    private double _tokens;
    private long _lastNs;
    private long _pendingSinceNs;
    private long _pendingCount;

    public LiveRateLimit(int linesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(linesPerSecond);
        LinesPerSecond = linesPerSecond;
        _perNs = linesPerSecond / (double)Second;
        _capacity = (double)linesPerSecond * BurstSeconds;
        _tokens = _capacity;
    }

    public int LinesPerSecond { get; }

    /// <summary>Lines folded over the whole run.</summary>
    public long Folded { get; private set; }

    /// <summary>Whether a line at <paramref name="unixNs"/> fits the budget (and takes its share of it).</summary>
    public bool Admit(long unixNs)
    {
        if (unixNs > _lastNs)
        {
            // The first record starts the clock with a full bucket.
            _tokens = _lastNs == 0 ? _capacity : Math.Min(_capacity, _tokens + ((unixNs - _lastNs) * _perNs));
            _lastNs = unixNs;
        }
        if (_tokens < 1)
        {
            return false;
        }
        _tokens -= 1;
        return true;
    }

    /// <summary>Counts a line not shown.</summary>
    public void Fold(string type, long unixNs)
    {
        if (_pendingCount == 0)
        {
            _pendingSinceNs = unixNs;
        }
        _pending[type] = _pending.GetValueOrDefault(type) + 1;
        _pendingCount++;
        Folded++;
    }

    /// <summary>Whether folded lines wait to be said and a second has passed since the first of them.</summary>
    public bool Due(long unixNs) => _pendingCount > 0 && unixNs - _pendingSinceNs >= Second;

    /// <summary>"38112 lines in 1.0 s (conn.close 112, http 38000)", and forgets them; null when none is pending.</summary>
    public string? TakePending(long unixNs)
    {
        if (_pendingCount == 0)
        {
            return null;
        }
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{_pendingCount} lines in {Math.Max(0, unixNs - _pendingSinceNs) / 1e9:0.0} s (");
        text.AppendJoin(", ", _pending.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key} {p.Value}")));
        text.Append(')');
        _pending.Clear();
        _pendingCount = 0;
        return text.ToString();
    }
}
