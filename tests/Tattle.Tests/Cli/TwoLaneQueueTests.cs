using Tattle.Cli.Tracing;

namespace Tattle.Tests.Cli;

/// <summary>The probe worker's queue: probes going on are taken before releases and rescans queued earlier.</summary>
public sealed class TwoLaneQueueTests
{
    [Fact]
    public void TheFirstLane_IsTakenBeforeTheSecond_EachInItsOwnOrder()
    {
        var q = new TwoLaneQueue<string>();
        q.Add("exit 1", first: false);
        q.Add("rescan 1", first: false);
        q.Add("fork 2", first: true);
        q.Add("exec 2", first: true);
        Assert.Equal(4, q.Count);
        q.CompleteAdding();
        var taken = new List<string>();
        while (q.TryTake(out var item))
        {
            taken.Add(item);
        }
        Assert.Equal(["fork 2", "exec 2", "exit 1", "rescan 1"], taken);
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public async Task TryTake_WaitsForAnItem_AndEndsWhenCompleted()
    {
        var q = new TwoLaneQueue<int>();
        var consumer = Task.Run(() =>
        {
            var got = new List<int>();
            while (q.TryTake(out int item))
            {
                got.Add(item);
            }
            return got;
        });
        await Task.Delay(50);
        Assert.False(consumer.IsCompleted);
        q.Add(7, first: false);
        q.CompleteAdding();
        Assert.Equal([7], await consumer.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Throws<InvalidOperationException>(() => q.Add(8, first: true));
    }
}
