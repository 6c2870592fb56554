using System.Text;
using BenchmarkDotNet.Attributes;
using Tattle.Capture.Events;
using Tattle.Output.JsonLines;
using Tattle.Protocols.Common;
using Tattle.Records;
using Tattle.Tracking;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Streams;

namespace Tattle.Bench.Protocols;

/// <summary>
/// Tattle's user-space work for one traced request, stage by stage: the two data events of one keep-alive exchange
/// of the overhead benchmark (wrk's request as nginx receives it, nginx's response head and 612-byte body as one
/// writev) through the session as the ring's callback hands them over, on a connection accepted from wrk. Each benchmark adds a stage to the one
/// before: tracking (connection lookup, byte counts), then reassembly, HTTP parsing and the record with the summary,
/// then the JSON Lines line. The difference between two is that stage's cost per request. --stats is measured beside
/// them: parsing without the header fields, counted per route instead of written.
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private const int Pid = 4242;
    private const int Fd = 7;
    private const ulong Sock = 0xffff_8880_1234_5600;

    private static readonly byte[] Request = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n");

    private static readonly byte[] Response = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\n" +
        "Server: nginx/1.22.1\r\n" +
        "Date: Wed, 02 Dec 2026 19:10:26 GMT\r\n" +
        "Content-Type: text/html\r\n" +
        "Content-Length: 612\r\n" +
        "Last-Modified: Wed, 02 Dec 2026 18:30:01 GMT\r\n" +
        "Connection: keep-alive\r\n" +
        "ETag: \"692f3c79-264\"\r\n" +
        "Accept-Ranges: bytes\r\n" +
        "\r\n" + new string('x', 612));

    private Exchange _track = null!;
    private Exchange _parse = null!;
    private Exchange _json = null!;
    private Exchange _stats = null!;

    [GlobalSetup]
    public void Setup()
    {
        _track = new Exchange(new DiscardRecords(), parse: false);
        _parse = new Exchange(new DiscardRecords(), parse: true);
        _json = new Exchange(new JsonLinesSink(Stream.Null), parse: true);
        _stats = new Exchange(new JsonLinesSink(Stream.Null), parse: true, stats: true);
        foreach (var e in new[] { _track, _parse, _json, _stats })
        {
            e.Run(); // the connection is adopted and announced once, outside the measurement
        }
        if (_parse.Records.Messages != 1 || _json.Records.Messages != 1 || _stats.Records.Messages != 0)
        {
            throw new InvalidOperationException($"http records per run: {_parse.Records.Messages}, {_json.Records.Messages}, --stats {_stats.Records.Messages} (1, 1 and 0 expected): the benchmark would not measure what it says");
        }
    }

    [Benchmark(Baseline = true, Description = "decode handed over, tracking")]
    public void Track() => _track.Run();

    [Benchmark(Description = "+ reassembly, HTTP parsing, record, summary")]
    public void Parse() => _parse.Run();

    [Benchmark(Description = "+ JSON Lines (to a null stream)")]
    public void ParseAndJson() => _json.Run();

    [Benchmark(Description = "--stats: parsed without header fields, counted per route")]
    public void Stats() => _stats.Run();

    /// <summary>One session on one connection; each run is the next request and response on it.</summary>
    private sealed class Exchange
    {
        private readonly TraceSession _session;
        private ulong _sent;
        private ulong _received;
        private long _now = 1_000_000_000;

        public Exchange(IRecordSink sink, bool parse, bool stats = false)
        {
            Records = new CountingSink(sink);
            _session = new TraceSession(Records, new NoSocketLookup(), new TraceSettings
            {
                ToUnixNs = ns => ns,
                Streams = new StreamSettings { Enabled = parse, Parser = new ParserOptions { Headers = !stats } },
                Stats = stats,
            });
            _session.OnFork(new ProcessFork(_now, Pid, 1, 100, "nginx"));
            // Accepted from wrk on loopback: the records and the summary name real endpoints.
            _session.OnSocket(new SocketEvent
            {
                TimestampNs = _now += 1000,
                Pid = Pid,
                Tid = Pid,
                Kind = SocketEventKind.Accept,
                Fd = Fd,
                Result = Fd,
                SockId = Sock,
                Family = NetAddress.AfInet,
                SockType = SocketTypes.Stream,
                Protocol = 6,
                Aux = 6,
                Local = NetAddress.FromEndPoint(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 18080)),
                Remote = NetAddress.FromEndPoint(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 40312)),
            });
        }

        public CountingSink Records { get; }

        public void Run()
        {
            _session.OnData(Data(Direction.Recv, _received, Request.Length), Request);
            _received += (ulong)Request.Length;
            _session.OnData(Data(Direction.Send, _sent, Response.Length), Response);
            _sent += (ulong)Response.Length;
        }

        private DataEvent Data(Direction dir, ulong position, int length) => new()
        {
            TimestampNs = _now += 20_000,
            Pid = Pid,
            Tid = Pid,
            Fd = Fd,
            Direction = dir,
            SockId = Sock,
            Position = position,
            MessageLength = (uint)length,
            ChunkLength = (uint)length,
            Syscall = dir == Direction.Recv ? (ushort)45 : (ushort)20, // recvfrom, writev
            Family = NetAddress.AfInet,
            SockType = SocketTypes.Stream,
            Flags = DataFlags.Last,
        };
    }

    /// <summary>Counts message records on their way to a sink, so the setup can check what is measured.</summary>
    private sealed class CountingSink(IRecordSink inner) : IRecordSink
    {
        public long Messages { get; private set; }

        public void Write(Record record)
        {
            Messages += record is MessageRecord ? 1 : 0;
            inner.Write(record);
        }

        public void Flush() => inner.Flush();

        public void Dispose() => inner.Dispose();
    }

    /// <summary>Drops records: the stages before the output.</summary>
    private sealed class DiscardRecords : IRecordSink
    {
        public void Write(Record record)
        {
        }

        public void Flush()
        {
        }

        public void Dispose()
        {
        }
    }
}
