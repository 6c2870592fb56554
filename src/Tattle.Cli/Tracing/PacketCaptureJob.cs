using Tattle.Capture.Events;
using Tattle.Capture.Packets;
using Tattle.Output.Pcapng;
using Tattle.Tracking.Packets;
using Tattle.Tracking.Plaintext;

namespace Tattle.Cli.Tracing;

/// <summary>-w FILE: captures packets on its own thread while the trace runs, and writes the traced processes' ones.</summary>
internal sealed class PacketCaptureJob : IDisposable
{
    /// <summary>How long stopping waits for the last packets of connections closed one way only or not yet captured closing.</summary>
    private const int HalfClosedWaitMs = 1000;

    private readonly LiveCapture _capture;
    private readonly PcapngWriter _writer;
    private readonly PacketRecorder _recorder;
    private readonly PlaintextRecorder? _plaintext;
    private readonly Lock _writerGate = new();
    private readonly Thread _thread;
    private readonly int _interfaceId;
    private readonly long _startNs;
    private Exception? _failure;

    private PacketCaptureJob(LiveCapture capture, PcapngWriter writer, PacketCaptureConfig config, PacketOwners owners, long startNs,
        PlaintextPackets? plaintext)
    {
        _capture = capture;
        _writer = writer;
        _startNs = startNs;
        Path = config.Path;
        _interfaceId = writer.AddInterface(capture.Device, (ushort)capture.LinkType, capture.Snaplen,
            config.AllPackets ? "tattle: every packet; the traced processes' ones carry a comment"
                : "tattle: packets of the traced processes, each with a comment naming its process");
        _recorder = new PacketRecorder(writer, _writerGate, _interfaceId, capture.LinkType, owners, config.AllPackets);
        if (plaintext is not null)
        {
            // LINKTYPE_RAW: the packets are made, not captured, so there is no link header worth inventing (fake
            // MACs would say nothing); the version nibble tells IPv4 from IPv6. No snaplen: nothing is cut.
            int id = writer.AddInterface(PlaintextRecorder.InterfaceName, LinkTypes.Raw, snaplen: 0, PlaintextRecorder.InterfaceDescription);
            _plaintext = new PlaintextRecorder(writer, _writerGate, id, owners);
            plaintext.Output = _plaintext;
        }
        _thread = new Thread(Run) { IsBackground = true, Name = "tattle pcap" };
    }

    public string Path { get; }

    /// <summary>
    /// Opens the capture and the file and starts capturing; with <paramref name="plaintext"/> its packets go to a
    /// second interface from now on. Throws <see cref="CaptureException"/> or an IO exception.
    /// </summary>
    public static PacketCaptureJob Start(PacketCaptureConfig config, PacketOwners owners, long startUnixNs, PlaintextPackets? plaintext = null)
    {
        var capture = LiveCapture.Open(new CaptureOptions { Device = config.Interface, Snaplen = config.Snaplen, Filter = config.Filter });
        PcapngWriter writer;
        try
        {
            writer = PcapngWriter.Create(config.Path);
        }
        catch
        {
            capture.Dispose();
            throw;
        }
        var job = new PacketCaptureJob(capture, writer, config, owners, startUnixNs, plaintext);
        job._thread.Start();
        return job;
    }

    /// <summary>Stops capturing, writes what still waits and the interface statistics; returns the counts.</summary>
    public PacketCaptureResult Stop(long nowUnixNs)
    {
        // libpcap hands packets over a block at a time, at the latest after its timeout: let the last block come.
        Thread.Sleep(150);
        // A traced process that closed a connection and exited leaves the peer's FIN and its answer to come (a server
        // closes when it gets to it): wait a little for them, as a capture that outlives the process would see them,
        // and for the block that brings them. The records can also be ahead of the capture: a close they have
        // whose FIN the capture thread, behind on a busy machine, has not taken from the ring yet.
        int waited = 0;
        for (; _recorder.StillClosing(nowUnixNs) > 0 && waited < HalfClosedWaitMs; waited += 20)
        {
            Thread.Sleep(20);
        }
        if (waited > 0)
        {
            Thread.Sleep(150);
        }
        _capture.Stop();
        _thread.Join();
        _recorder.Finish();
        var stats = _capture.Stats();
        lock (_writerGate)
        {
            _writer.WriteStatistics(_interfaceId, nowUnixNs, stats.Received, stats.Dropped, stats.InterfaceDropped, _startNs, nowUnixNs);
            _writer.Flush();
            return new PacketCaptureResult(_recorder.Attributed, _recorder.Unattributed, _recorder.NotTcpUdp, _writer.PacketsWritten,
                stats.Dropped + stats.InterfaceDropped, _failure?.Message);
        }
    }

    /// <summary>
    /// The counts once the trace session has ended too: ending its TLS sessions writes their last plaintext
    /// packets (the FINs) after <see cref="Stop"/>.
    /// </summary>
    public PacketCaptureResult Final(PacketCaptureResult stopped)
    {
        lock (_writerGate)
        {
            _writer.Flush();
            return stopped with { Written = _writer.PacketsWritten, Plaintext = _plaintext?.Written };
        }
    }

    /// <summary>
    /// Flushes the plaintext packets the trace loop wrote: the capture thread flushes only after packets it
    /// captured, so this keeps the file current over a quiet capture.
    /// </summary>
    public void FlushPlaintext()
    {
        if (_plaintext is not null)
        {
            lock (_writerGate)
            {
                _writer.Flush();
            }
        }
    }

    public void Dispose()
    {
        if (_thread.IsAlive)
        {
            _capture.Stop();
            _thread.Join();
        }
        lock (_writerGate)
        {
            _writer.Dispose();
        }
        _capture.Dispose();
    }

    private void Run()
    {
        try
        {
            _capture.Run(_recorder);
        }
        catch (Exception e)
        {
            _failure = e; // reported by Stop; the trace itself goes on
        }
    }
}

/// <summary>
/// What -w wrote: packets with an owner, packets without one (written only with --all-packets), drops, and the
/// synthetic TLS plaintext packets (null without --tls-plaintext).
/// </summary>
internal sealed record PacketCaptureResult(long Attributed, long Unattributed, long NotTcpUdp, long Written, ulong Dropped, string? Failure)
{
    public long? Plaintext { get; init; }

    public LossEvent? Loss(long nowMonoNs) => Dropped > 0 ? new LossEvent(nowMonoNs, (long)Dropped, "pcap") : null;
}
