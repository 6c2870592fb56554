namespace Tattle.Agent;

/// <summary>
/// Boxed ports and status codes, made once per value: tags and span attributes take numbers as objects, and a keep-alive
/// connection's exchanges would otherwise box the same few values anew, an allocation each.
/// </summary>
internal static class Boxes
{
    // Ports and status codes; anything above is boxed as it comes. Filled as values are seen: two threads boxing the
    // same value at once leave either box, both equal.
    private const int Cached = 65536;
    private static object?[]? s_ints;
    private static object?[]? s_longs;

    public static object Int(int value) =>
        (uint)value < Cached ? Box(ref s_ints, value, static v => v) : value;

    public static object Long(long value) =>
        (ulong)value < Cached ? Box(ref s_longs, (int)value, static v => (long)v) : value;

    private static object Box(ref object?[]? cache, int value, Func<int, object> box)
    {
        var boxes = cache ?? Interlocked.CompareExchange(ref cache, new object?[Cached], null) ?? cache;
        return boxes[value] ??= box(value);
    }
}
