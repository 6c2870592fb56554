using System.Text;
using Tattle.Capture.Events;
using Tattle.Protocols.Common;
using Tattle.Records;
using Tattle.Tracking;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Streams;

namespace Tattle.Bench.Protocols;

/// <summary>
/// The overhead benchmark's traffic handed to a trace session as the ring's callback hands it over: each run is
/// the next keep-alive exchange (wrk's request as nginx receives it, nginx's response head and 612-byte body as one
/// writev) on one of <c>connections</c> accepted from wrk, taken in turn as wrk's connections are. With
/// <c>coldBytes</c> every run reads its bytes from the next slot of a 32 MiB buffer, out of the caches as the
/// ring's records are when a drain reaches them; otherwise from the same two arrays. With
/// <c>distinctTargets</c> as well, each slot's request asks for a path of its own (/0000001, /0000002…), as a
/// client that never repeats itself does.
/// </summary>
internal sealed class PipelineExchange
{
    private const int Pid = 4242;
    private const int FirstFd = 7;
    private const ulong FirstSock = 0xffff_8880_1234_5600;
    private const int ColdBufferBytes = 32 << 20;

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

    private static readonly byte[] NumberedRequest = Encoding.ASCII.GetBytes("GET /0000000 HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n");

    private readonly TraceSession _session;
    private readonly ulong[] _sent;
    private readonly ulong[] _received;
    private readonly byte[] _bytes;
    private readonly int _slots;
    private readonly int _requestLength;
    private readonly int _slot;
    private long _now = 1_000_000_000;
    private int _run;

    public PipelineExchange(IRecordSink sink, bool parse, bool stats = false, int connections = 1, bool coldBytes = false, bool distinctTargets = false)
    {
        var request = distinctTargets ? NumberedRequest : Request;
        _requestLength = request.Length;
        _slot = request.Length + Response.Length;
        Records = new CountingSink(sink);
        _session = new TraceSession(Records, new NoSocketLookup(), new TraceSettings
        {
            ToUnixNs = ns => ns,
            Streams = new StreamSettings { Enabled = parse, Parser = new ParserOptions { Headers = !stats } },
            Stats = stats,
        });
        _sent = new ulong[connections];
        _received = new ulong[connections];
        _slots = coldBytes ? ColdBufferBytes / _slot : 1;
        _bytes = new byte[_slots * _slot];
        for (int i = 0; i < _slots; i++)
        {
            request.CopyTo(_bytes, i * _slot);
            if (distinctTargets)
            {
                // "GET /" is five bytes: the seven digits after it number the slot.
                Encoding.ASCII.GetBytes(i.ToString("D7", System.Globalization.CultureInfo.InvariantCulture), _bytes.AsSpan((i * _slot) + 5, 7));
            }
            Response.CopyTo(_bytes, (i * _slot) + request.Length);
        }
        _session.OnFork(new ProcessFork(_now, Pid, 1, 100, "nginx"));
        for (int c = 0; c < connections; c++)
        {
            // Accepted from wrk on loopback: the records and the summary name real endpoints.
            _session.OnSocket(new SocketEvent
            {
                TimestampNs = _now += 1000,
                Pid = Pid,
                Tid = Pid,
                Kind = SocketEventKind.Accept,
                Fd = FirstFd + c,
                Result = FirstFd + c,
                SockId = Sock(c),
                Family = NetAddress.AfInet,
                SockType = SocketTypes.Stream,
                Protocol = 6,
                Aux = 6,
                Local = NetAddress.FromEndPoint(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 18080)),
                Remote = NetAddress.FromEndPoint(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 40312 + c)),
            });
        }
    }

    public CountingSink Records { get; }

    public void Run()
    {
        int c = _run % _received.Length;
        var bytes = _bytes.AsSpan(_run % _slots * _slot, _slot);
        _run++;
        _session.OnData(Data(c, Direction.Recv, _received[c], _requestLength), bytes[.._requestLength]);
        _received[c] += (ulong)_requestLength;
        _session.OnData(Data(c, Direction.Send, _sent[c], Response.Length), bytes[_requestLength..]);
        _sent[c] += (ulong)Response.Length;
    }

    private static ulong Sock(int connection) => FirstSock + ((ulong)connection * 64);

    private DataEvent Data(int connection, Direction dir, ulong position, int length) => new()
    {
        TimestampNs = _now += 20_000,
        Pid = Pid,
        Tid = Pid,
        Fd = FirstFd + connection,
        Direction = dir,
        SockId = Sock(connection),
        Position = position,
        MessageLength = (uint)length,
        ChunkLength = (uint)length,
        Syscall = dir == Direction.Recv ? (ushort)45 : (ushort)20, // recvfrom, writev
        Family = NetAddress.AfInet,
        SockType = SocketTypes.Stream,
        Flags = DataFlags.Last,
    };

    /// <summary>Counts message records on their way to a sink, so the setup can check what is measured.</summary>
    internal sealed class CountingSink(IRecordSink inner) : IRecordSink
    {
        public long Messages { get; private set; }

        public void Write(Record record)
        {
            Messages += record is MessageRecord ? 1 : 0;
            inner.Write(record);
        }

        public bool ConsumesAtOnce => inner.ConsumesAtOnce;

        public void Flush() => inner.Flush();

        public void Dispose() => inner.Dispose();
    }

    /// <summary>Drops records: the stages before the output.</summary>
    internal sealed class DiscardRecords : IRecordSink
    {
        public bool ConsumesAtOnce => true;

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
