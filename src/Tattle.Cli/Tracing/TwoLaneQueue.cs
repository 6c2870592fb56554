namespace Tattle.Cli.Tracing;

/// <summary>
/// A blocking FIFO with two lanes for one consumer: every item of the first lane is taken before any of the second.
/// Items keep their order within a lane.
/// </summary>
internal sealed class TwoLaneQueue<T>
{
    private readonly object _gate = new();
    private readonly Queue<T> _first = new();
    private readonly Queue<T> _second = new();
    private bool _completed;

    /// <summary>Items waiting in both lanes.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _first.Count + _second.Count;
            }
        }
    }

    /// <summary>Queues an item in the first lane, or in the second.</summary>
    public void Add(T item, bool first)
    {
        lock (_gate)
        {
            if (_completed)
            {
                throw new InvalidOperationException("the queue takes no more items");
            }
            (first ? _first : _second).Enqueue(item);
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>No more items: <see cref="TryTake"/> returns false once both lanes are empty.</summary>
    public void CompleteAdding()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits for the next item, the first lane's before the second's; false when completed and empty.</summary>
    public bool TryTake(out T item)
    {
        lock (_gate)
        {
            while (true)
            {
                if (_first.TryDequeue(out item!) || _second.TryDequeue(out item!))
                {
                    return true;
                }
                if (_completed)
                {
                    return false;
                }
                Monitor.Wait(_gate);
            }
        }
    }
}
