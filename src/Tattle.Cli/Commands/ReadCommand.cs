using System.CommandLine;
using Tattle.Capture.Packets;
using Tattle.Capture.Packets.Replay;
using Tattle.Cli.Tracing;
using Tattle.Interop;
using Tattle.Output;
using Tattle.Output.Console;
using Tattle.Output.JsonLines;
using Tattle.Records;
using Tattle.Tracking;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Packets;

namespace Tattle.Cli.Commands;

/// <summary>`tattle read FILE`: a capture (Tattle's own pcapng, or any pcap/pcapng) through the same parsers and summary as a trace.</summary>
internal static class ReadCommand
{
    /// <summary>The file was read up to a malformed or truncated block: what came before it was still shown.</summary>
    public const int DamagedFile = 1;

    public static Command Create(TextWriter stderr)
    {
        var options = new TraceOptions();
        var file = new Argument<string>("file") { Description = "A pcapng or pcap file (e.g. from tattle run -w, tcpdump -w, Wireshark)" };
        var read = new Command("read", "Analyse a capture: the exchanges in it and a summary per process (pcap and pcapng)") { file };
        options.AddParsingTo(read);
        options.AddOutputTo(read);
        read.SetAction(result => Execute(result.GetValue(file)!, options.Bind(result), stderr));
        return read;
    }

    /// <summary>
    /// Reads the capture at <paramref name="path"/>; with <paramref name="into"/> (`tattle report`), the records go
    /// there and nothing is shown.
    /// </summary>
    internal static int Execute(string path, TraceConfig config, TextWriter stderr, IRecordSink? into = null)
    {
        CaptureReader reader;
        try
        {
            reader = CaptureReader.Open(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"tattle read: cannot open {path}: {e.Message}");
            return 2;
        }
        using (reader)
        {
            bool any = reader.TryRead(out var first);
            if (!any && reader.Error is { } early && reader.Format == CaptureFormat.Unknown)
            {
                // An empty or truncated header says what it lacks; a wrong magic says it is no capture already.
                stderr.WriteLine(early.Message.StartsWith(CaptureReader.NotACapture, StringComparison.Ordinal)
                    ? $"tattle read: {path}: {early.Message}"
                    : $"tattle read: {path}: {CaptureReader.NotACapture} ({early.Message})");
                return 2;
            }
            var sinks = new List<IRecordSink>();
            var plaintextOwners = new List<PacketComment>();
            long startNs = FirstPass(path, first.UnixNs, plaintextOwners);
            LiveView live;
            try
            {
                // The exchanges are what the user asked for: the view goes to standard output, like tcpdump -r.
                live = into is not null
                    ? config.View.Open(new StreamWriter(Stream.Null), color: false, startNs, width: null)
                    : config.OutputPath is { } outPath
                    ? config.View.Open(new StreamWriter(OutputFile.Create(outPath)), color: false, startNs, width: null)
                    : config.View.Open(new StreamWriter(StandardStream.Output), color: false, startNs, width: null);
                if (config.JsonPath is not null)
                {
                    sinks.Add(JsonLinesSink.Open(config.JsonPath));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"tattle read: cannot open the output file: {e.Message}");
                return 2;
            }
            if (into is not null)
            {
                sinks.Add(into);
            }
            else if (!config.Quiet)
            {
                sinks.Insert(0, live);
            }
            using var output = new FanOutSink(sinks);
            var session = new TraceSession(output, new NoSocketLookup(), new TraceSettings
            {
                EmitData = config.Data,
                ToUnixNs = PacketReplayer.UnixClock,
                Streams = config.Streams,
                Stats = config.Stats,
            });
            var replayer = new PacketReplayer(session, new ReplayOptions { StreamCapBytes = config.Streams.CapBytes });
            foreach (var owner in plaintextOwners)
            {
                replayer.ExpectPlaintext(owner);
            }
            long packets = 0;
            for (bool more = any; more; more = reader.TryRead(out first))
            {
                packets++;
                PacketComment.TryParse(first.Comment, out var owner);
                replayer.Add(first.LinkType, first.Data.Span, first.UnixNs, owner);
            }
            replayer.Finish();
            var summary = session.Finish(replayer.LastNs, replayer.FirstNs, (ulong)packets, 0);
            live.Summary(summary);
            var c = replayer.Counters;
            live.Note($"{path}: {packets} packets, {c.Flows} flows; {c.Duplicates} duplicates dropped, "
                + $"{c.NotIp + c.OtherProtocols + c.Fragments} not TCP/UDP, {c.Undecodable} undecodable");
            foreach (var stat in reader.Statistics)
            {
                if (stat.OsDrop is > 0 || stat.IfDrop is > 0)
                {
                    live.Note($"{path}: the capture lost packets: {stat.OsDrop ?? 0} dropped by the OS buffer, {stat.IfDrop ?? 0} by the interface");
                }
            }
            output.Flush();
            live.Flush();
            if (config.Quiet || into is not null)
            {
                live.Dispose();
            }
            if (reader.Error is { } error)
            {
                stderr.WriteLine($"tattle read: {path}: stopped at byte {error.Offset}: {error.Message} ({packets} packets before it were read)");
                return DamagedFile;
            }
            return 0;
        }
    }

    /// <summary>
    /// A first pass over a file of -w --tls-plaintext, which has two writers: its earliest packet (where the view's
    /// clock starts; the first packet need not be it) and the connections whose plaintext it holds (their closes
    /// wait for it). A file that cannot be read twice (a pipe) starts at its first packet.
    /// </summary>
    private static long FirstPass(string path, long firstNs, List<PacketComment> plaintextOwners)
    {
        try
        {
            using var stream = File.OpenRead(path);
            if (!stream.CanSeek)
            {
                return firstNs;
            }
            using var reader = CaptureReader.Open(stream);
            long earliest = firstNs != 0 ? firstNs : long.MaxValue;
            while (reader.TryRead(out var packet))
            {
                if (packet.UnixNs != 0)
                {
                    earliest = Math.Min(earliest, packet.UnixNs);
                }
                if (PacketComment.TryParse(packet.Comment, out var owner) && owner is { IsTlsPlaintext: true }
                    && !plaintextOwners.Any(o => o.Pid == owner.Pid && o.Conn == owner.Conn))
                {
                    plaintextOwners.Add(owner); // one per connection: a file holds few TLS sessions
                }
            }
            return earliest == long.MaxValue ? firstNs : earliest;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return firstNs;
        }
    }
}
