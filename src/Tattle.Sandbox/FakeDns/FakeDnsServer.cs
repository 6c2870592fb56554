using System.Net;
using System.Net.Sockets;

namespace Tattle.Sandbox.FakeDns;

/// <summary>--offline's resolver: <see cref="FakeDnsAnswers"/> over UDP on one address, on a thread of its own.</summary>
public sealed class FakeDnsServer : IDisposable
{
    private readonly Socket _socket;
    private readonly Thread _thread;
    private volatile bool _stopping;

    private FakeDnsServer(Socket socket)
    {
        _socket = socket;
        _thread = new Thread(Serve) { IsBackground = true, Name = "tattle fake dns" };
    }

    public FakeDnsAnswers Answers { get; } = new();

    public IPEndPoint Endpoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Binds <paramref name="endpoint"/> (port 0 picks one) and starts answering.</summary>
    public static FakeDnsServer Start(IPEndPoint endpoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(endpoint);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new SandboxException($"the fake DNS cannot listen on {endpoint}: {e.Message}");
        }
        var server = new FakeDnsServer(socket);
        server._thread.Start();
        return server;
    }

    private void Serve()
    {
        var query = new byte[4096];
        var response = new byte[4096];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        while (!_stopping)
        {
            try
            {
                int n = _socket.ReceiveFrom(query, ref from);
                int length = Answers.Answer(query.AsSpan(0, n), response);
                if (length > 0)
                {
                    _socket.SendTo(response.AsSpan(0, length), from);
                }
            }
            catch (SocketException) when (!_stopping)
            {
                // A client gone (ICMP port unreachable surfaces here): serve the next query.
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _socket.Dispose(); // unblocks ReceiveFrom
        _thread.Join(TimeSpan.FromSeconds(2));
    }
}
