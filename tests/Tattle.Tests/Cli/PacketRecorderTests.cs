using Tattle.Capture.Packets;
using Tattle.Cli.Tracing;
using Tattle.Output.Pcapng;
using Tattle.Tests.Output.Pcapng;
using Tattle.Tests.Tracking.Packets;
using Tattle.Tracking.Packets;

namespace Tattle.Tests.Cli;

/// <summary>What -w's recorder knows of connections closed one way: a stop waits for their peer's FIN while there are any.</summary>
public class PacketRecorderTests
{
    private const long T0 = 1_700_000_000_000_000_000;
    private const long Ms = 1_000_000;
    private const byte Fin = 0x01, Syn = 0x02, Ack = 0x10;
    private static readonly byte[] Loopback = [127, 0, 0, 1];
    private static readonly byte[] OtherHost = [127, 0, 0, 2];

    [Fact]
    public void ATracedFinWaitingBehindAnotherProcessesPacket_IsAlreadyAHalfClosedFlow()
    {
        var owners = new PacketOwners();
        owners.Write(PacketOwnersTests.Open(5, "c3", "tcp", new("127.0.0.1", 45000), new("127.0.0.1", 8080)));
        using var file = new MemoryStream();
        var writer = new PcapngWriter(file, leaveOpen: true);
        int iface = writer.AddInterface("lo", LinkTypes.Raw, 0);
        var recorder = new PacketRecorder(writer, new Lock(), iface, LinkTypes.Raw, owners, allPackets: false);
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
}
