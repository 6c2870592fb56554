namespace Tattle.Tracking.Connections;

/// <summary>
/// The sockets last closed at each (pid, fd), so an event that names one after its close is known as late rather
/// than taken for a new socket. Another thread's call can finish after close() released the fd and after a new
/// accept() took it (its record is written at the call's exit); without this, the late event would end the new
/// connection. Bounded: the oldest entries go first.
/// </summary>
public sealed class ClosedSockets(int capacity = 4096)
{
    private readonly HashSet<(int Pid, int Fd, ulong Sock)> _set = [];
    private readonly Queue<(int Pid, int Fd, ulong Sock)> _order = new();

    public void Add(int pid, int fd, ulong sock)
    {
        if (sock == 0 || !_set.Add((pid, fd, sock)))
        {
            return;
        }
        _order.Enqueue((pid, fd, sock));
        if (_order.Count > capacity)
        {
            _set.Remove(_order.Dequeue());
        }
    }

    /// <summary>A socket whose address the kernel gave to a new socket at this fd again is live, not late.</summary>
    public void Forget(int pid, int fd, ulong sock) => _set.Remove((pid, fd, sock));

    public bool Contains(int pid, int fd, ulong sock) => sock != 0 && _set.Contains((pid, fd, sock));
}
