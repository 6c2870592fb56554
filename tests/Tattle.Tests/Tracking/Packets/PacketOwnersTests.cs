using System.Net;
using Tattle.Capture.Events;
using Tattle.Records;
using Tattle.Tracking.Packets;

namespace Tattle.Tests.Tracking.Packets;

/// <summary>Packets matched to traced sockets from the records a session writes.</summary>
public class PacketOwnersTests
{
    private const byte Tcp = 6;
    private const byte Udp = 17;
    private const long T0 = 1_700_000_000_000_000_000;

    private static NetAddress A(string ip, int port) => NetAddress.FromEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));

    private static ProcessStartRecord Start(int pid, string comm, params string[] argv) =>
        new() { TimestampNs = T0, Pid = pid, Comm = comm, ParentPid = 1, Argv = argv };

    internal static ConnOpenRecord Open(int pid, string conn, string proto, Endpoint local, Endpoint? remote, string role = "client") =>
        new() { TimestampNs = T0, Pid = pid, Comm = "x", Conn = conn, Proto = proto, Role = role, Fd = 3, Local = local, Remote = remote };

    internal static ConnCloseRecord Close(int pid, string conn, long timestampNs) => new()
    {
        TimestampNs = timestampNs,
        Pid = pid,
        Comm = "x",
        Conn = conn,
        Proto = "tcp",
        Role = "client",
        Fd = 3,
        BytesSent = 1,
        BytesRecv = 1,
        DurationMs = 1,
    };

    [Fact]
    public void ConnectionOwnsBothDirections_WithTheProcessInTheComment()
    {
        var owners = new PacketOwners();
        owners.Write(Start(42, "curl", "curl", "-s", "http://127.0.0.1:80/a \"b\""));
        owners.Write(Open(42, "c3", "tcp", new("127.0.0.1", 50000), new("127.0.0.1", 80)));

        var outgoing = owners.Find(Tcp, A("127.0.0.1", 50000), A("127.0.0.1", 80), T0)!;
        Assert.Equal((42, "curl", "c3", true), (outgoing.Pid, outgoing.Comm, outgoing.Conn, outgoing.Outgoing));
        Assert.Equal("pid=42 comm=curl conn=c3 dir=out cmdline=\"curl -s 'http://127.0.0.1:80/a \\\"b\\\"'\"", outgoing.Comment);
        var incoming = owners.Find(Tcp, A("127.0.0.1", 80), A("127.0.0.1", 50000), T0)!;
        Assert.False(incoming.Outgoing);
        Assert.Contains("dir=in", incoming.Comment);
        Assert.Null(owners.Find(Tcp, A("127.0.0.1", 50001), A("127.0.0.1", 80), T0));
        Assert.Null(owners.Find(Udp, A("127.0.0.1", 50000), A("127.0.0.1", 80), T0));
    }

    [Fact]
    public void DualStackSocketsMatchTheirIpv4Packets()
    {
        var owners = new PacketOwners();
        owners.Write(Open(7, "c1", "tcp", new("::ffff:127.0.0.1", 40000), new("::ffff:10.0.0.5", 443)));
        Assert.NotNull(owners.Find(Tcp, A("10.0.0.5", 443), A("127.0.0.1", 40000), T0));
    }

    [Fact]
    public void ListenerOwnsTheHandshakeBeforeAcceptNamesTheConnection()
    {
        var owners = new PacketOwners();
        owners.Write(new ListenRecord { TimestampNs = T0, Pid = 9, Comm = "nginx", Proto = "tcp", Fd = 6, Local = new("0.0.0.0", 8080) });
        var syn = owners.Find(Tcp, A("127.0.0.1", 40000), A("127.0.0.1", 8080), T0)!;
        Assert.Equal((9, false), (syn.Pid, syn.Outgoing));
        var synAck = owners.Find(Tcp, A("127.0.0.1", 8080), A("127.0.0.1", 40000), T0)!;
        Assert.True(synAck.Outgoing);
        // Once accepted, the connection (a newer, exact match) owns the flow.
        owners.Write(Open(9, "c5", "tcp", new("127.0.0.1", 8080), new("127.0.0.1", 40000), "server"));
        Assert.Equal("c5", owners.Find(Tcp, A("127.0.0.1", 40000), A("127.0.0.1", 8080), T0)!.Conn);
    }

    [Fact]
    public void ClosedConnectionsOwnTheirLastPacketsForAWhile()
    {
        var owners = new PacketOwners();
        owners.Write(Open(5, "c2", "tcp", new("127.0.0.1", 50000), new("127.0.0.1", 80)));
        owners.Write(Close(5, "c2", T0 + 1000));
        Assert.NotNull(owners.Find(Tcp, A("127.0.0.1", 80), A("127.0.0.1", 50000), T0 + PacketOwners.LingerNs));
        Assert.Null(owners.Find(Tcp, A("127.0.0.1", 80), A("127.0.0.1", 50000), T0 + 1000 + PacketOwners.LingerNs));
        Assert.Equal(0, owners.Count);
    }

    [Fact]
    public void RefusedConnectOwnsItsSynAndReset()
    {
        var owners = new PacketOwners();
        owners.Write(new ConnFailRecord
        {
            TimestampNs = T0,
            Pid = 5,
            Comm = "curl",
            Conn = "c1",
            Proto = "tcp",
            Role = "client",
            Fd = 3,
            Local = new("127.0.0.1", 50002),
            Remote = new("127.0.0.1", 9),
            Error = "ECONNREFUSED",
        });
        Assert.True(owners.Find(Tcp, A("127.0.0.1", 50002), A("127.0.0.1", 9), T0 + 1)!.Outgoing);
        Assert.False(owners.Find(Tcp, A("127.0.0.1", 9), A("127.0.0.1", 50002), T0 + 1)!.Outgoing);
    }

    [Fact]
    public void UdpSocketOwnsDatagramsOfEveryPeer()
    {
        var owners = new PacketOwners();
        owners.Write(Open(3, "c4", "udp", new("0.0.0.0", 5353), new("127.0.0.53", 53)));
        Assert.NotNull(owners.Find(Udp, A("10.1.1.1", 53), A("192.168.1.2", 5353), T0));
        Assert.True(owners.Find(Udp, A("127.0.0.1", 5353), A("127.0.0.53", 53), T0)!.Outgoing);
    }
}
