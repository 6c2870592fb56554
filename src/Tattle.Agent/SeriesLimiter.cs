using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.InteropServices;

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

    // 64-bit hashes of the attribute sets, not the sets: no string is made per measurement. Two sets would have to
    // collide in 64 bits for one to pass the cap unseen.
    private readonly HashSet<ulong> _seen = [];
    private readonly Lock _lock = new();
    // Sets admitted lately, compared by identity: a keep-alive connection's exchanges come back with the same key and
    // value instances, and a set once admitted stays admitted, so a match needs no hash. Written and read under _lock.
    private readonly TagList[] _recent = new TagList[RecentSlots];
    private int _next;
    private long _folded;

    private const int RecentSlots = 8;
    // TagList holds up to eight tags in its own fields.
    private const int InlineTags = 8;

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

    /// <summary>
    /// Admits the tags or rewrites them into the fold series; returns false when it folded for the cap.
    /// <paramref name="fold"/> (the agent over its memory cap) folds them first, whatever the cap says.
    /// </summary>
    public bool Admit(ref TagList tags, bool fold = false)
    {
        if (fold)
        {
            Fold(ref tags);
        }
        lock (_lock)
        {
            if (SeenLately(in tags))
            {
                return true;
            }
            ulong key = Key(in tags);
            if (_seen.Contains(key) || (_seen.Count < cap && _seen.Add(key)))
            {
                // Only a set held inline: a longer one lives in an array its copies share, which a later Add on
                // one of them can overwrite.
                if (tags.Count <= InlineTags)
                {
                    _recent[_next] = tags;
                    _next = (_next + 1) % RecentSlots;
                }
                return true;
            }
        }
        Interlocked.Increment(ref _folded);
        Fold(ref tags);
        return false;
    }

    private bool SeenLately(in TagList tags)
    {
        foreach (ref readonly var recent in _recent.AsSpan())
        {
            if (Same(in recent, in tags))
            {
                return true;
            }
        }
        return false;
    }

    // The same keys and values in the same order: strings by reference, numbers (boxed anew each time) by value.
    private static bool Same(in TagList a, in TagList b)
    {
        if (a.Count != b.Count || a.Count == 0)
        {
            return false;
        }
        for (int i = 0; i < a.Count; i++)
        {
            var (x, y) = (a[i], b[i]);
            if (!ReferenceEquals(x.Key, y.Key) || !SameValue(x.Value, y.Value))
            {
                return false;
            }
        }
        return true;
    }

    private static bool SameValue(object? x, object? y) => ReferenceEquals(x, y) || (x, y) switch
    {
        (int i, int j) => i == j,
        (long i, long j) => i == j,
        _ => false,
    };

    /// <summary>Every value becomes <see cref="Other"/>, the keys stay.</summary>
    private static void Fold(ref TagList tags)
    {
        var folded = default(TagList);
        foreach (var tag in tags)
        {
            folded.Add(tag.Key, Other);
        }
        tags = folded;
    }

    // XXH3 over each key and value, each seeded with the hash so far: order and boundaries count, and strings are
    // hashed 32 bytes at a time (a byte-at-a-time FNV was 4 % of the agent's CPU under load).
    private static ulong Key(in TagList tags)
    {
        ulong h = 0x1f;
        foreach (var tag in tags)
        {
            h = Mix(h, tag.Key);
            h = tag.Value switch
            {
                string s => Mix(h, s),
                int i => Mix(h, (ulong)i),
                long l => Mix(h, (ulong)l),
                null => Mix(h, ulong.MaxValue),
                var o => Mix(h, o.ToString() ?? ""),
            };
        }
        return h;
    }

    private static ulong Mix(ulong h, string s) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(s.AsSpan()), (long)h) + 1;

    private static ulong Mix(ulong h, ulong v) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(new ReadOnlySpan<ulong>(in v)), (long)h) + 2;
}
