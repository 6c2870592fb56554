using System.Text.Json;

namespace Tattle.Records.Json;

/// <summary>
/// Writes string values that recur as the same instance (a process's comm, a connection's id, a header value a
/// keep-alive peer repeats) from a cache of their encoded form: transcoding and escaping checks were a sixth of
/// tattle's CPU under load. A string is encoded when it is seen a second time, so one-off values cost a slot only;
/// the slot is checked by reference, then by text.
/// </summary>
public static class RecurringStrings
{
    private const int Slots = 512;
    private const int LongestCached = 256;

    [ThreadStatic]
    private static Entry[]? t_entries;

    private struct Entry
    {
        public string? Key;
        public JsonEncodedText Encoded;
        public bool Ready;
    }

    public static void Write(Utf8JsonWriter w, JsonEncodedText name, string? value)
    {
        if (value is null || value.Length > LongestCached)
        {
            w.WriteString(name, value);
            return;
        }
        var entries = t_entries ??= new Entry[Slots];
        // Two ways per set: a record writes some thirty recurring strings, and with one way two of them sharing a
        // slot evicted each other on every record (and took JSON's escaping path each time, for a quoted ETag).
        int set = Hash(value) & (Slots - 1) & ~1;
        ref var first = ref entries[set];
        if (!Matches(first.Key, value))
        {
            ref var second = ref entries[set + 1];
            // The most recent of the two stays first, and a new string replaces the other.
            (first, second) = (second, first);
            if (!Matches(first.Key, value))
            {
                first = new Entry { Key = value };
                w.WriteString(name, value);
                return;
            }
        }
        if (!first.Ready)
        {
            first.Encoded = JsonEncodedText.Encode(value);
            first.Ready = true;
        }
        w.WriteString(name, first.Encoded);
    }

    /// <summary>Another instance of the same text (a value decoded again on another connection) is the same value.</summary>
    private static bool Matches(string? key, string value) =>
        ReferenceEquals(key, value) || (key is not null && key.Length == value.Length && string.Equals(key, value, StringComparison.Ordinal));

    /// <summary>
    /// A cache slot's hash of a string from a few of its characters, not the identity hash: NativeAOT's object hash
    /// takes an interlocked write on each new string. (Here, three strings in one set only evict each other.)
    /// </summary>
    public static int Hash(string s) =>
        s.Length == 0 ? 0 : (s.Length * 31) + (s[0] * 7) + (s[s.Length >> 1] * 13) + s[^1];
}
