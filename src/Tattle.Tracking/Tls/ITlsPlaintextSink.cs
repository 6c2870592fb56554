using Tattle.Capture.Events;
using Tattle.Tracking.Connections;

namespace Tattle.Tracking.Tls;

/// <summary>Receives TLS plaintext with the connection the session runs on (TraceSettings.TlsPlaintext).</summary>
public interface ITlsPlaintextSink
{
    /// <summary>
    /// One chunk of plaintext (<see cref="DataEvent.IsTls"/>), after the session bound it: <paramref name="conn"/>
    /// is the socket's connection, or a stand-in without addresses while the socket is unknown.
    /// </summary>
    void OnPlaintext(in DataEvent e, ReadOnlySpan<byte> payload, Connection conn, string comm, long unixNs);

    /// <summary>The session object of <paramref name="pid"/> is done: its socket closed, its process exited, or the trace ended.</summary>
    void OnSessionEnd(int pid, ulong session, long unixNs);
}
