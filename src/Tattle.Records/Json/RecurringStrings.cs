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
        ref var e = ref entries[Slot(value)];
        // Another instance of the same text (a value decoded again on another connection) is the same value.
        if (!ReferenceEquals(e.Key, value) && !(e.Key is { } key && key.Length == value.Length && string.Equals(key, value, StringComparison.Ordinal)))
        {
            e.Key = value;
            e.Ready = false;
            w.WriteString(name, value);
            return;
        }
        if (!e.Ready)
        {
            e.Encoded = JsonEncodedText.Encode(value);
            e.Ready = true;
        }
        w.WriteString(name, e.Encoded);
    }

    /// <summary>
    /// A few characters, not the identity hash: NativeAOT's object hash takes an interlocked write on each new
    /// string. Two strings in one slot only evict each other.
    /// </summary>
    private static int Slot(string s) =>
        s.Length == 0 ? 0 : (s.Length * 31 + s[0] * 7 + s[s.Length >> 1] * 13 + s[^1]) & (Slots - 1);
}
