namespace Tattle.Capture.Packets.Replay;

/// <summary>
/// Which byte positions of one TCP direction were already handed on: everything below
/// <see cref="ContiguousEnd"/>, plus a few ranges past it (segments that arrived ahead of a hole). Used to hand
/// on each byte once however often the capture repeats it (retransmissions, overlapping segments, duplicates).
/// </summary>
internal sealed class SeenRanges
{
    /// <summary>Ranges held past the first hole at most; past this the first hole is given up on.</summary>
    internal const int MaxRanges = 256;

    private readonly List<(long Start, long End)> _ahead = [];

    /// <summary>Every position below this was handed on.</summary>
    public long ContiguousEnd { get; private set; }

    /// <summary>Ranges seen past the first hole.</summary>
    public int AheadCount => _ahead.Count;

    /// <summary>
    /// Splits [<paramref name="start"/>, <paramref name="end"/>) into the parts not seen yet, marks them seen, and
    /// returns them in order (into <paramref name="fresh"/>, cleared first).
    /// </summary>
    public void TakeFresh(long start, long end, List<(long Start, long End)> fresh)
    {
        fresh.Clear();
        start = Math.Max(start, ContiguousEnd);
        foreach (var (s, e) in _ahead)
        {
            if (start >= end)
            {
                break;
            }
            if (e <= start)
            {
                continue;
            }
            if (s >= end)
            {
                break;
            }
            if (s > start)
            {
                fresh.Add((start, s));
            }
            start = Math.Max(start, e);
        }
        if (start < end)
        {
            fresh.Add((start, end));
        }
        foreach (var range in fresh)
        {
            Add(range.Start, range.End);
        }
    }

    private void Add(long start, long end)
    {
        if (start <= ContiguousEnd)
        {
            ContiguousEnd = Math.Max(ContiguousEnd, end);
        }
        else
        {
            int i = 0;
            while (i < _ahead.Count && _ahead[i].Start < start)
            {
                i++;
            }
            _ahead.Insert(i, (start, end));
            Merge(Math.Max(0, i - 1));
        }
        while (_ahead.Count > 0 && _ahead[0].Start <= ContiguousEnd)
        {
            ContiguousEnd = Math.Max(ContiguousEnd, _ahead[0].End);
            _ahead.RemoveAt(0);
        }
        if (_ahead.Count > MaxRanges)
        {
            // A hole that has not filled after this many later segments is lost from the capture.
            ContiguousEnd = _ahead[0].End;
            _ahead.RemoveAt(0);
        }
    }

    private void Merge(int from)
    {
        int i = from;
        while (i + 1 < _ahead.Count)
        {
            if (_ahead[i].End >= _ahead[i + 1].Start)
            {
                _ahead[i] = (_ahead[i].Start, Math.Max(_ahead[i].End, _ahead[i + 1].End));
                _ahead.RemoveAt(i + 1);
            }
            else
            {
                i++;
            }
        }
    }
}
