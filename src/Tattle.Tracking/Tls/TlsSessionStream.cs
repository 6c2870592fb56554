using Tattle.Tracking.Connections;
using Tattle.Tracking.Streams;

namespace Tattle.Tracking.Tls;

/// <summary>
/// The plaintext of one TLS session object (an SSL* or gnutls_session_t) of one process, read by the TLS probes:
/// its own parser, since its byte positions are the session's and not the socket's, and the connection it runs
/// on once the kernel has seen the session's socket.
/// </summary>
internal sealed class TlsSessionStream(int pid, ulong session)
{
    public int Pid { get; } = pid;

    /// <summary>The session object's address in the process.</summary>
    public ulong Session { get; } = session;

    /// <summary>The socket's connection; null while no syscall inside a TLS call has named it.</summary>
    public Connection? Conn { get; set; }

    /// <summary>Stands in for <see cref="Conn"/> in records made before it is known (never registered by fd).</summary>
    public Connection? Detached { get; set; }

    public ConnectionDecoder? Decoder { get; set; }

    /// <summary>The thread whose next socket send binds it to that socket (0: none).</summary>
    public int AwaitingTid { get; set; }

    /// <summary>The connection records name: the socket's, or the stand-in when the socket is still unknown.</summary>
    public Connection? RecordConnection => Conn ?? Detached;

    /// <summary>"0x…": how a record names a session whose socket was never found (a custom BIO, say).</summary>
    public string SessionText => $"0x{Session:x}";

    /// <summary>Ends the parse: pending messages are reported.</summary>
    public void Close(long nowNs)
    {
        Decoder?.OnClose(nowNs);
        Decoder = null;
    }
}
