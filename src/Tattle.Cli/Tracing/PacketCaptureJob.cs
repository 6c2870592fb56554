using Tattle.Capture.Events;
using Tattle.Capture.Packets;
using Tattle.Output.Pcapng;
using Tattle.Tracking.Packets;

namespace Tattle.Cli.Tracing;

/// <summary>-w FILE: captures packets on its own thread while the trace runs, and writes the traced processes' ones.</summary>
internal sealed class PacketCaptureJob : IDisposable
{
    private readonly LiveCapture _capture;
    private readonly PcapngWriter _writer;
    private readonly PacketRecorder _recorder;
    private readonly Thread _thread;
    private readonly int _interfaceId;
    private readonly long _startNs;
    private Exception? _failure;

    private PacketCaptureJob(LiveCapture capture, PcapngWriter writer, PacketCaptureConfig config, PacketOwners owners, long startNs)
    {
        _capture = capture;
        _writer = writer;
        _startNs = startNs;
        Path = config.Path;
        _interfaceId = writer.AddInterface(capture.Device, (ushort)capture.LinkType, capture.Snaplen,
            config.AllPackets ? "tattle: every packet; the traced processes' ones carry a comment"
                : "tattle: packets of the traced processes, each with a comment naming its process");
        _recorder = new PacketRecorder(writer, _interfaceId, capture.LinkType, owners, config.AllPackets);
        _thread = new Thread(Run) { IsBackground = true, Name = "tattle pcap" };
    }

    public string Path { get; }

    /// <summary>Opens the capture and the file and starts capturing; throws <see cref="CaptureException"/> or an IO exception.</summary>
    public static PacketCaptureJob Start(PacketCaptureConfig config, PacketOwners owners, long startUnixNs)
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
        var job = new PacketCaptureJob(capture, writer, config, owners, startUnixNs);
        job._thread.Start();
        return job;
    }

    /// <summary>Stops capturing, writes what still waits and the interface statistics; returns the counts.</summary>
    public PacketCaptureResult Stop(long nowUnixNs)
    {
        // libpcap hands packets over a block at a time, at the latest after its timeout: let the last block come.
        Thread.Sleep(150);
        _capture.Stop();
        _thread.Join();
        _recorder.Finish();
        var stats = _capture.Stats();
        _writer.WriteStatistics(_interfaceId, nowUnixNs, stats.Received, stats.Dropped, stats.InterfaceDropped, _startNs, nowUnixNs);
        _writer.Flush();
        return new PacketCaptureResult(_recorder.Attributed, _recorder.Unattributed, _recorder.NotTcpUdp, _writer.PacketsWritten,
            stats.Dropped + stats.InterfaceDropped, _failure?.Message);
    }

    public void Dispose()
    {
        if (_thread.IsAlive)
        {
            _capture.Stop();
            _thread.Join();
        }
        _writer.Dispose();
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

/// <summary>What -w wrote: packets with an owner, packets without one (written only with --all-packets), drops.</summary>
internal sealed record PacketCaptureResult(long Attributed, long Unattributed, long NotTcpUdp, long Written, ulong Dropped, string? Failure)
{
    public LossEvent? Loss(long nowMonoNs) => Dropped > 0 ? new LossEvent(nowMonoNs, (long)Dropped, "pcap") : null;
}
