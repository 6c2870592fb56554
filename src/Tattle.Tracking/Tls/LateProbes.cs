using System.Globalization;
using Tattle.Capture.Events;
using Tattle.Records;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Processes;

namespace Tattle.Tracking.Tls;

/// <summary>
/// TLS connections whose handshake came before their process's plaintext probes went live, and whose plaintext
/// then did not begin with their own first message: their calls before then were not read. A process is probed
/// within a millisecond of its fork, but the kernel makes the first uprobe registered after a quiet spell wait for
/// an RCU grace period (dup_mmap_sem's rcu_sync, about 10 ms on a loaded machine), and a program talking to a local
/// server can be done by then. Each such connection gets a notice and counts in the summary, so no exchange goes
/// unread in silence. Connections are judged as they end: until then their plaintext may still be on its way.
/// </summary>
/// <param name="wanted">Whether the process gets probes at all (its connections are judged only then).</param>
internal sealed class LateProbes(RecordWriter writer, ProcessTable processes, ConnectionTracker connections, Func<int, bool> wanted)
{
    /// <summary>Ended connections a process keeps by name while waiting for its probes' time (the rest count, unnamed).</summary>
    internal const int MaxWaitingPerProcess = 16;

    /// <summary>Connections whose handshake came before their process's probes went live, and not read from their start.</summary>
    public ulong Count { get; private set; }

    // The ended connections waiting for their process's probe time, by pid, with the process: the process table
    // may have let an exited one go by the time it comes.
    private readonly Dictionary<int, (TrackedProcess Process, List<WaitingConnection> Connections)> _waiting = [];

    /// <summary>
    /// The process's probes went live at <paramref name="liveNs"/> (or it was found gone then, before they did):
    /// the connections it ended while this was not known are judged now.
    /// </summary>
    public void ProbesLive(int pid, long liveNs, bool gone)
    {
        bool waits = _waiting.TryGetValue(pid, out var waiting);
        var p = waits ? waiting.Process : processes.Find(pid);
        if (p is null || (gone && p.TlsProbesLiveNs != 0))
        {
            return; // a later attach found it gone: what an earlier one put on was live
        }
        // Of a fork's and an exec's attach, the later counts: a program's own TLS (node's) goes on at its exec.
        p.TlsProbesLiveNs = Math.Max(p.TlsProbesLiveNs, liveNs);
        p.TlsProbesGone = gone;
        if (waits)
        {
            _waiting.Remove(pid);
            int unnamed = 0;
            foreach (var w in waiting.Connections)
            {
                unnamed += Judge(p, w.ConnId, w.Remote, w.HandshakeNs) && w.ConnId is null ? 1 : 0;
            }
            if (unnamed > 0)
            {
                writer.Notice(p.Pid, p.TlsProbesLiveNs, $"tls: plaintext probes went live after the TLS handshakes of {Plural.Count(unnamed, "more connection", "more connections")}: their calls before then are not read");
            }
        }
    }

    /// <summary>A connection ends: judged now when its process's probe time is known, else kept until it is.</summary>
    public void OnClosing(Connection conn)
    {
        if (conn.TlsHandshakeNs == 0 || conn.LateProbesNoted || ReadFromItsStart(conn) || processes.Find(conn.Pid) is not { } p
            || (p.TlsProbesLiveNs == 0 && !wanted(p.Pid)))
        {
            return;
        }
        conn.LateProbesNoted = true;
        if (p.TlsProbesLiveNs != 0)
        {
            Judge(p, conn.Id, Remote(conn), conn.TlsHandshakeNs);
            return;
        }
        if (!_waiting.TryGetValue(p.Pid, out var waiting))
        {
            waiting = (p, []);
            _waiting[p.Pid] = waiting;
        }
        waiting.Connections.Add(waiting.Connections.Count < MaxWaitingPerProcess
            ? new WaitingConnection(conn.Id, Remote(conn), conn.TlsHandshakeNs)
            : new WaitingConnection(null, null, conn.TlsHandshakeNs));
    }

    /// <summary>
    /// Judges the connections still open (at the end of the trace), as if they ended; then those whose process's
    /// probes never went live by then (the trace stopped while they were still going on): none of their calls
    /// before the end is known to have been read.
    /// </summary>
    public void Finish(long endNs)
    {
        foreach (var conn in connections.Open)
        {
            OnClosing(conn);
        }
        foreach (var (pid, (_, waiting)) in _waiting)
        {
            Count += (ulong)waiting.Count;
            foreach (var w in waiting.Where(w => w.ConnId is not null))
            {
                writer.Notice(pid, endNs, $"tls: plaintext probes were not live when the trace ended; its TLS calls with {w.Remote} ({w.ConnId}) are not read");
            }
            if (waiting.Count(w => w.ConnId is null) is int unnamed and > 0)
            {
                writer.Notice(pid, endNs, $"tls: plaintext probes were not live when the trace ended; the TLS calls of {Plural.Count(unnamed, "more connection", "more connections")} are not read");
            }
        }
        _waiting.Clear();
    }

    /// <summary>
    /// Its plaintext began with its own first message (a client's request, a server's read of one): the probes were
    /// on before the exchange, whenever the handshake was. Only the library the program runs matters, and the
    /// probes' time is that of the last library put on.
    /// </summary>
    private static bool ReadFromItsStart(Connection conn) =>
        conn.FirstPlaintext is { } first && first == (conn.Role == "server" ? Direction.Recv : Direction.Send);

    /// <summary>Counts the connection when its handshake came before the probes; one without a name gets no notice of its own.</summary>
    private bool Judge(TrackedProcess p, string? connId, string? remote, long handshakeNs)
    {
        if (handshakeNs >= p.TlsProbesLiveNs)
        {
            return false;
        }
        Count++;
        if (connId is null)
        {
            return true;
        }
        string message = p.TlsProbesGone
            ? $"tls: plaintext probes: the process ended before they went live; its TLS calls with {remote} ({connId}) are not read"
            : string.Create(CultureInfo.InvariantCulture,
                $"tls: plaintext probes went live {(p.TlsProbesLiveNs - handshakeNs) / 1e6:0.0} ms after the TLS handshake with {remote} ({connId}): its calls before then are not read");
        writer.Notice(p.Pid, p.TlsProbesLiveNs, message);
        return true;
    }

    // The name the program asked for, beside the address it reached: "localhost (127.0.0.1:8443)".
    private static string Remote(Connection conn) => RecordWriter.RemoteEndpoint(conn) is { } remote
        ? conn.Host is { } host ? $"{host} ({remote})" : remote.ToString()
        : "?";

    /// <summary>An ended TLS connection waiting for its process's probe time.</summary>
    internal readonly record struct WaitingConnection(string? ConnId, string? Remote, long HandshakeNs);
}
