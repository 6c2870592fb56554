using Tattle.Capture.Events;
using Tattle.Tracking.Connections;

namespace Tattle.Tracking.Tls;

/// <summary>
/// The TLS sessions whose plaintext the probes deliver, per (pid, session object), and the socket each runs on:
/// named by a syscall inside the library call, or, for a memory BIO, by the thread's own socket I/O around it.
/// </summary>
internal sealed class TlsSessions(ConnectionTracker tracker, TraceSettings settings)
{
    private readonly Dictionary<(int Pid, ulong Session), TlsSessionStream> _tls = [];
    // TLS sessions over a memory BIO (node, .NET) make no syscall inside the library call, so the kernel cannot
    // name their socket. The program moves the ciphertext itself on the same thread: right after SSL_write it
    // sends the records it got, and right before SSL_read it received them.
    private readonly Dictionary<int, TlsSessionStream> _awaitingSend = [];
    private readonly Dictionary<int, Connection> _lastStreamRecv = [];

    /// <summary>Entries of the per-thread tables: only open ones are kept.</summary>
    public int ThreadBindings => _lastStreamRecv.Count + _awaitingSend.Count;

    /// <summary>
    /// Plaintext from the TLS probes: the session it belongs to, bound to the socket's connection when the
    /// kernel saw a syscall of the call name it, or to the thread's last read; the connection records show
    /// (the socket's, or a stand-in until one is known) comes back with it.
    /// </summary>
    public (TlsSessionStream Session, Connection Shown) OnPlaintext(in DataEvent e)
    {
        Connection? conn = null;
        if (e.SockId != 0 && e.Fd >= 0)
        {
            conn = tracker.LookupOrAdopt(in e);
            tracker.AnnounceOnData(conn, in e);
        }
        var key = (e.Pid, e.TlsSession);
        if (_tls.TryGetValue(key, out var tls) && conn is not null && tls.Conn is not null && tls.Conn != conn)
        {
            End(tls, e.TimestampNs); // the library reused the object for another connection
            tls = null;
        }
        if (tls is null)
        {
            tls = new TlsSessionStream(e.Pid, e.TlsSession);
            _tls[key] = tls;
        }
        if (conn is null && tls.Conn is null && e.Direction == Direction.Recv
            && _lastStreamRecv.TryGetValue(e.Tid, out var received) && received.Pid == e.Pid
            && received.State == ConnectionState.Open && received.Tls is null)
        {
            conn = received; // the ciphertext this plaintext came from was the thread's last read from a socket
        }
        if (conn is not null && tls.Conn is null)
        {
            Bind(tls, conn);
        }
        else if (tls.Conn is null && e.Direction == Direction.Send)
        {
            _awaitingSend[e.Tid] = tls;
            tls.AwaitingTid = e.Tid;
        }
        return (tls, tls.Conn ?? (tls.Detached ??= tracker.NewDetached(e.Pid, e.TimestampNs)));
    }

    /// <summary>
    /// A TCP send or receive on a socket no TLS session is bound to: binds the session whose plaintext the same
    /// thread just wrote, and remembers the socket as the thread's last read for a plaintext read to come.
    /// </summary>
    public void OnStreamIo(Connection conn, in DataEvent e)
    {
        if (e.Direction == Direction.Recv)
        {
            _lastStreamRecv[e.Tid] = conn;
            conn.LastRecvTid = e.Tid;
        }
        else if (_awaitingSend.Count > 0 && _awaitingSend.Remove(e.Tid, out var pending)
            && pending.Pid == e.Pid && pending.Conn is null && _tls.ContainsKey((pending.Pid, pending.Session)))
        {
            Bind(pending, conn);
        }
    }

    /// <summary>
    /// A connection ended: the thread-keyed tables hold only what is still open (a server with a thread per
    /// connection would otherwise keep one entry per thread it ever had), and its session ends with it.
    /// </summary>
    public void OnClosing(Connection conn, long nowNs)
    {
        if (conn.LastRecvTid != 0 && _lastStreamRecv.GetValueOrDefault(conn.LastRecvTid) == conn)
        {
            _lastStreamRecv.Remove(conn.LastRecvTid);
        }
        if (conn.Tls is { } tls)
        {
            End(tls, nowNs);
        }
    }

    public void EndProcess(int pid, long nowNs)
    {
        foreach (var tls in _tls.Values.Where(t => t.Pid == pid).ToList())
        {
            End(tls, nowNs);
        }
    }

    public void EndAll(long nowNs)
    {
        foreach (var tls in _tls.Values.ToList())
        {
            End(tls, nowNs);
        }
    }

    private static void Bind(TlsSessionStream tls, Connection conn)
    {
        tls.AwaitingTid = 0;
        tls.Conn = conn;
        conn.Tls = tls;
        if (tls.Detached?.AppProtocol is { } app)
        {
            conn.AppProtocol = app; // what the plaintext carries, learnt before the socket was known
        }
    }

    private void End(TlsSessionStream tls, long nowNs)
    {
        if (tls.AwaitingTid != 0 && _awaitingSend.GetValueOrDefault(tls.AwaitingTid) == tls)
        {
            _awaitingSend.Remove(tls.AwaitingTid);
        }
        tls.Close(nowNs);
        _tls.Remove((tls.Pid, tls.Session));
        settings.TlsPlaintext?.OnSessionEnd(tls.Pid, tls.Session, settings.ToUnixNs(nowNs));
        if (tls.Conn?.Tls == tls)
        {
            tls.Conn.Tls = null;
        }
    }
}
