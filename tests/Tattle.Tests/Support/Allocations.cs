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

    /// <summary>
    /// What <paramref name="exchanges"/> more calls of <paramref name="step"/> allocate after 30 to warm up (<see
    /// cref="LeastOf"/> of three rounds), the calls numbered on from 0 so that a step can take turns between inputs.
    /// </summary>
    public static long InSteadyState(Action<int> step, out int calls, int exchanges = 1000)
    {
        int next = 0;
        for (; next < 30; next++)
        {
            step(next);
        }
        long allocated = LeastOf(3, () =>
        {
            for (int end = next + exchanges; next < end; next++)
            {
                step(next);
            }
        });
        calls = next;
        return allocated;
    }
}
