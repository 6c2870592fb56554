using Tattle.Capture.Packets;
using Tattle.Cli.Tracing;
using Tattle.Output.Pcapng;
using Tattle.Tests.Output.Pcapng;
using Tattle.Tests.Tracking.Packets;
using Tattle.Tracking.Packets;

namespace Tattle.Tests.Cli;

/// <summary>
/// What -w's recorder knows of connections still closing: a stop waits for a peer's FIN while a flow is closed one
/// way, and for a connection's own FIN while the records have its close and the capture has not written that FIN.
/// </summary>
public class PacketRecorderTests
{
    private const long T0 = 1_700_000_000_000_000_000;
    private const long Ms = 1_000_000;
    private const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Ack = 0x10;
    private static readonly byte[] Loopback = [127, 0, 0, 1];
    private static readonly byte[] OtherHost = [127, 0, 0, 2];

    [Fact]
    public void ATracedFinWaitingBehindAnotherProcessesPacket_IsAlreadyAHalfClosedFlow()
    {
        using var f = new Fixture();
        var (owners, writer, recorder) = (f.Owners, f.Writer, f.Recorder);
        owners.Write(PacketOwnersTests.Open(5, "c3", "tcp", new("127.0.0.1", 45000), new("127.0.0.1", 8080)));
        void Packet(long ns, byte[] ip) => recorder.OnPacket(ns, ip.Length, ip);

        // Another process's SYN, then curl's FIN a millisecond later: the FIN waits behind the SYN, which waits up to
        // 500 ms for a record to name its socket, and no later packet comes to move the queue on.
        Packet(T0 + 1 * Ms, Frames.Ipv4Tcp(OtherHost, OtherHost, 5555, 6666, 1, 0, Syn, []));
        Packet(T0 + 2 * Ms, Frames.Ipv4Tcp(Loopback, Loopback, 45000, 8080, 100, 500, Fin | Ack, []));
        recorder.OnBatchEnd();
        Assert.Equal(0, writer.PacketsWritten);
        Assert.Equal(1, recorder.HalfClosedFlows(T0 + 150 * Ms));

        // The server's FIN, however late, closes the other way: nothing is left to wait for.
        Packet(T0 + 400 * Ms, Frames.Ipv4Tcp(Loopback, Loopback, 8080, 45000, 500, 101, Fin | Ack, []));
        Assert.Equal(0, recorder.HalfClosedFlows(T0 + 400 * Ms));

        recorder.Finish();
        Assert.Equal((2, 1), (recorder.Attributed, recorder.Unattributed));
        Assert.Equal(2, writer.PacketsWritten);
    }

    [Fact]
    public void AConnectionTheRecordsClosed_IsAheadOfTheCaptureUntilItsOwnFinIsWritten()
    {
        using var f = new Fixture();
        var (owners, recorder) = (f.Owners, f.Recorder);
        owners.Write(PacketOwnersTests.Open(5, "c3", "tcp", new("127.0.0.1", 45000), new("127.0.0.1", 8080)));
        owners.Write(PacketOwnersTests.Open(5, "c4", "tcp", new("127.0.0.1", 45001), new("127.0.0.1", 9)));
        owners.Write(PacketOwnersTests.Open(5, "c5", "tcp", new("127.0.0.1", 45002), new("127.0.0.1", 8080)));
        void Packet(long ns, byte[] ip) => recorder.OnPacket(ns, ip.Length, ip);

        // c3 exchanged data; c4's SYN went unanswered; c5 exchanged data and was reset by its peer.
        Packet(T0 + 1 * Ms, Frames.Ipv4Tcp(Loopback, Loopback, 45000, 8080, 1, 0, Syn, []));
        Packet(T0 + 2 * Ms, Frames.Ipv4Tcp(Loopback, Loopback, 45000, 8080, 2, 500, Ack, "GET / HTTP/1.1\r\n\r\n"u8.ToArray()));
        Packet(T0 + 3 * Ms, Frames.Ipv4Tcp(Loopback, Loopback, 45001, 9, 1, 0, Syn, []));
        Packet(T0 + 4 * Ms, Frames.Ipv4Tcp(Loopback, Loopback, 45002, 8080, 2, 500, Ack, "x"u8.ToArray()));
        Packet(T0 + 5 * Ms, Frames.Ipv4Tcp(Loopback, Loopback, 8080, 45002, 500, 3, Rst, []));
        Assert.Equal(0, owners.ClosedAheadOfTheCapture(T0 + 10 * Ms)); // open connections are not waited for

        // The records close all three before the capture thread has taken c3's FIN from the ring: only c3 is ahead.
        foreach (string conn in new[] { "c3", "c4", "c5" })
        {
            owners.Write(PacketOwnersTests.Close(5, conn, T0 + 20 * Ms));
        }
        Assert.Equal(1, owners.ClosedAheadOfTheCapture(T0 + 30 * Ms));
        Assert.Equal(0, recorder.HalfClosedFlows(T0 + 30 * Ms));

        // The FIN comes: nothing is ahead any more, and the flow is now closed one way, waiting for the peer's FIN.
        Packet(T0 + 40 * Ms, Frames.Ipv4Tcp(Loopback, Loopback, 45000, 8080, 20, 500, Fin | Ack, []));
        Assert.Equal(0, owners.ClosedAheadOfTheCapture(T0 + 50 * Ms));
        Assert.Equal(1, recorder.HalfClosedFlows(T0 + 50 * Ms));

        // Long after the close the connection no longer owns packets, so it is not waited for either.
        owners.Write(PacketOwnersTests.Open(5, "c6", "tcp", new("127.0.0.1", 45003), new("127.0.0.1", 8080)));
        Packet(T0 + 60 * Ms, Frames.Ipv4Tcp(Loopback, Loopback, 45003, 8080, 2, 500, Ack, "y"u8.ToArray()));
        owners.Write(PacketOwnersTests.Close(5, "c6", T0 + 70 * Ms));
        Assert.Equal(1, owners.ClosedAheadOfTheCapture(T0 + 80 * Ms));
        Assert.Equal(0, owners.ClosedAheadOfTheCapture(T0 + 71 * Ms + PacketOwners.LingerNs));
    }

    /// <summary>A recorder writing raw IP packets of the owners' connections to a file in memory.</summary>
    private sealed class Fixture : IDisposable
    {
        private readonly MemoryStream _file = new();

        public Fixture()
        {
            Writer = new PcapngWriter(_file, leaveOpen: true);
            int iface = Writer.AddInterface("lo", LinkTypes.Raw, 0);
            Recorder = new PacketRecorder(Writer, new Lock(), iface, LinkTypes.Raw, Owners, allPackets: false);
        }

        public PacketOwners Owners { get; } = new();

        public PcapngWriter Writer { get; }

        public PacketRecorder Recorder { get; }

        public void Dispose() => _file.Dispose();
    }
}
