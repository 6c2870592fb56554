namespace Tattle.Tests.Support;

/// <summary>What a steady state allocates on the test's thread, read so that the runtime's own one-off work does not count.</summary>
public static class Allocations
{
    /// <summary>
    /// The fewest bytes any of <paramref name="rounds"/> runs of <paramref name="round"/> allocated. An allocation
    /// per call of the code under test shows in every round; the runtime's once-only work on the thread (a method
    /// promoted to its optimized tier, or entering it by on-stack replacement, in the middle of a round) in one.
    /// </summary>
    public static long LeastOf(int rounds, Action round)
    {
        long least = long.MaxValue;
        for (int i = 0; i < rounds && least > 0; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            round();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }
}
