using System.Runtime.CompilerServices;

namespace Tattle.Records;

/// <summary>Stores into an object that is refilled message after message only what changed.</summary>
public static class Refilled
{
    /// <summary>
    /// A refilled record, message or parser state lives long (the GC's oldest generation), and every reference
    /// stored into it runs the GC's write barrier, a call of its own; in steady state most fields get the reference
    /// they already hold (a recurring string, the connection's endpoint), so comparing first skips most of those
    /// calls (write barriers were 5-7 % of a keep-alive exchange's CPU in bench/PipelineLoop's profile).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set<T>(ref T field, T value)
        where T : class?
    {
        if (!ReferenceEquals(field, value))
        {
            field = value;
        }
    }

    /// <summary>The same for a span of memory, which holds a reference to its array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(ref ReadOnlyMemory<byte> field, ReadOnlyMemory<byte> value)
    {
        if (!field.Equals(value))
        {
            field = value;
        }
    }
}
