namespace Tattle.Tracking.Connections;

/// <summary>
/// The connections last closed at each (pid, fd, socket), so an event that names one after its close is known as
/// late rather than taken for a new socket. Another thread's call can finish after close() released the fd and
/// after a new accept() took it (its record is written at the call's exit); without this, the late event would end
/// the new connection. Requests the kernel read are written at TCP's CLOSE, which without syscalls traced can come
/// after a new socket took the fd and so ended the connection here: they are still written as that connection's.
/// Bounded: the oldest entries go first (a closed connection has let go of its decoder).
/// </summary>
public sealed class ClosedSockets(int capacity = 4096)
{
    private readonly Dictionary<Key, Connection> _closed = [];
    private readonly Queue<Key> _order = new();

    // Asked at every payload: the socket's address (kernel memory, distinct while it lives) mixed with the fd is
    // enough of a hash, where a tuple's went through HashCode.Combine's seeded rounds.
    private readonly record struct Key(int Pid, int Fd, ulong Sock)
    {
        public override int GetHashCode() => unchecked((int)(Sock >> 6) ^ (int)(Sock >> 32) ^ (Fd * -1640531535) ^ Pid);
    }

    public void Add(Connection conn)
    {
        var key = new Key(conn.Pid, conn.Fd, conn.SockId);
        if (conn.SockId == 0 || !_closed.TryAdd(key, conn))
        {
            return;
        }
        _order.Enqueue(key);
        if (_order.Count > capacity)
        {
            _closed.Remove(_order.Dequeue());
        }
    }

    /// <summary>A socket whose address the kernel gave to a new socket at this fd again is live, not late.</summary>
    public void Forget(int pid, int fd, ulong sock) => _closed.Remove(new Key(pid, fd, sock));

    public bool Contains(int pid, int fd, ulong sock) => sock != 0 && _closed.Count != 0 && _closed.ContainsKey(new Key(pid, fd, sock));

    /// <summary>The connection that was this socket at this fd, while it is remembered.</summary>
    public Connection? Find(int pid, int fd, ulong sock) => sock != 0 ? _closed.GetValueOrDefault(new Key(pid, fd, sock)) : null;
}
