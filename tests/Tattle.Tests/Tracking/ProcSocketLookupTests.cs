using System.Net;
using System.Net.Sockets;
using Tattle.Tracking.Connections;

namespace Tattle.Tests.Tracking;

/// <summary>The /proc lookup used at attach names protocols as records do.</summary>
public sealed class ProcSocketLookupTests
{
    [Fact]
    public void Ipv6Sockets_AreReportedAsTcpNotTcp6()
    {
        using var listener = new TcpListener(IPAddress.IPv6Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var held = new ProcSocketLookup().ForProcess(Environment.ProcessId);
        var socket = Assert.Single(held, s => s.Local.Port == port);
        Assert.Equal("tcp", socket.Proto);
        Assert.True(socket.IsListening);
    }
}
