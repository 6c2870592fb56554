namespace Tattle.Records.Json;

/// <summary>
/// Per-thread tables of what a connection's records repeat (its fields, its last exchange's heads), found by the
/// connection's id: each record finds its connection's entry without a dictionary lookup.
/// </summary>
public static class ConnectionSlots
{
    private const int Count = 128;

    /// <summary>
    /// <paramref name="conn"/>'s entry in <paramref name="table"/>, made on first use. Two connections share one only
    /// when their ids' hashes collide, and then each finds the other's values and makes its own again.
    /// </summary>
    public static T For<T>(ref T[]? table, string conn)
        where T : class, new()
    {
        var entries = table ??= new T[Count];
        return entries[RecurringStrings.Hash(conn) & (Count - 1)] ??= new T();
    }
}
