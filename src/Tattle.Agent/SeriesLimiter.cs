using System.Diagnostics;

namespace Tattle.Agent;

/// <summary>
/// Bounds one metric's series: the first <c>cap</c> distinct attribute sets pass as they are; any new set after
/// that is folded into a single series whose every value is <c>other</c>, and counted. The OpenTelemetry SDK
/// has a limit of its own, but it folds silently into an attribute backends do not show (otel.metric.overflow).
/// </summary>
public sealed class SeriesLimiter(int cap)
{
    /// <summary>The value every attribute of the fold series has.</summary>
    public const string Other = "other";

    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private long _folded;

    /// <summary>Measurements folded into <c>other</c> so far.</summary>
    public long Folded => Interlocked.Read(ref _folded);

    /// <summary>Distinct attribute sets admitted (the fold series not counted).</summary>
    public int Series
    {
        get
        {
            lock (_lock)
            {
                return _seen.Count;
            }
        }
    }

    /// <summary>Admits the tags or rewrites them into the fold series; returns false when it folded.</summary>
    public bool Admit(ref TagList tags)
    {
        string key = Key(in tags);
        lock (_lock)
        {
            if (_seen.Contains(key) || (_seen.Count < cap && _seen.Add(key)))
            {
                return true;
            }
        }
        Interlocked.Increment(ref _folded);
        var folded = default(TagList);
        foreach (var tag in tags)
        {
            folded.Add(tag.Key, Other);
        }
        tags = folded;
        return false;
    }

    private static string Key(in TagList tags)
    {
        var b = new System.Text.StringBuilder(128);
        foreach (var tag in tags)
        {
            b.Append(tag.Key).Append('=').Append(tag.Value).Append('\u001f');
        }
        return b.ToString();
    }
}
