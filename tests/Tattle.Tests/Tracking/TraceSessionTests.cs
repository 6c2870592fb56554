using System.Net;
using Tattle.Capture.Events;
using Tattle.Protocols.Http;
using Tattle.Protocols.Tls;
using Tattle.Records;
using Tattle.Tests.Protocols.Support;
using Tattle.Tests.Support;
using Tattle.Tracking;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Tls;
using Record = Tattle.Records.Record;

namespace Tattle.Tests.Tracking;

/// <summary>The tracker fed synthetic events with a fake clock: no kernel involved.</summary>
public sealed class TraceSessionTests
{
    private const int Pid = 4242;
    private long _now = 1_000_000_000;

    private readonly ListSink _records = new();
    private readonly TraceSession _session;

    public TraceSessionTests()
    {
        _session = new TraceSession(_records, new NoSocketLookup(), new TraceSettings { EmitData = true, ToUnixNs = ns => ns });
        _session.OnFork(new ProcessFork(Tick(), Pid, 1, 100, "client"));
    }

    private long Tick(long ns = 1_000_000) => _now += ns;

    private static NetAddress V4(string ip, int port) => NetAddress.FromEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));

    private SocketEvent Sock(SocketEventKind kind, int fd, ulong sk, int result = 0, TcpState state = TcpState.Unknown, int pid = Pid) => new()
    {
        TimestampNs = Tick(),
        Pid = pid,
        Tid = pid,
        Kind = kind,
        Fd = fd,
        Result = result,
        SockId = sk,
        Family = NetAddress.AfInet,
        SockType = SocketTypes.Stream,
        Protocol = 6,
        State = state,
        Local = V4("127.0.0.1", 40000),
        Remote = V4("10.1.2.3", 443),
    };

    private DataEvent Data(int fd, ulong sk, Direction dir, uint len, int pid = Pid) => new()
    {
        TimestampNs = Tick(),
        Pid = pid,
        Tid = pid,
        Fd = fd,
        Direction = dir,
        SockId = sk,
        MessageLength = len,
        ChunkLength = len,
        Family = NetAddress.AfInet,
        SockType = SocketTypes.Stream,
        Flags = DataFlags.Last,
    };

    [Fact]
    public void BlockingConnect_OpensThenClosesWithByteCounts()
    {
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA));
        _session.OnData(Data(3, 0xA, Direction.Send, 100), new byte[100]);
        _session.OnData(Data(3, 0xA, Direction.Recv, 250), new byte[250]);
        _session.OnSocket(Sock(SocketEventKind.Close, 3, 0xA));

        var open = _records.Of<ConnOpenRecord>().Single();
        Assert.Equal("tcp", open.Proto);
        Assert.Equal("client", open.Role);
        Assert.Equal("10.1.2.3:443", open.Remote!.ToString());
        var close = _records.Of<ConnCloseRecord>().Single();
        Assert.Equal(open.Conn, close.Conn);
        Assert.Equal(100UL, close.BytesSent);
        Assert.Equal(250UL, close.BytesRecv);
        Assert.Equal(2, _records.Of<DataRecord>().Count());
        Assert.Equal(0, _session.OpenConnections);
    }

    [Fact]
    public void NonBlockingConnect_OutcomeFromTcpState()
    {
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA, result: -115));
        Assert.Empty(_records.Of<ConnOpenRecord>());
        _session.OnSocket(Sock(SocketEventKind.TcpState, 3, 0xA, state: TcpState.Established));
        Assert.Single(_records.Of<ConnOpenRecord>());

        _session.OnSocket(Sock(SocketEventKind.Socket, 4, 0xB));
        _session.OnSocket(Sock(SocketEventKind.Connect, 4, 0xB, result: -115));
        _session.OnSocket(Sock(SocketEventKind.TcpState, 4, 0xB, result: -111, state: TcpState.Close));
        Assert.Equal("ECONNREFUSED", _records.Of<ConnFailRecord>().Single().Error);
    }

    [Fact]
    public void NonBlockingConnect_ClosedBeforeAnyAnswer_IsAFailure_NotSilence()
    {
        // A SYN a firewall dropped: connect() said EINPROGRESS, then the program gave up and closed the socket,
        // whose CLOSE state (no error) comes after the close() that the tracker sees first.
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA, result: -115));
        _session.OnSocket(Sock(SocketEventKind.Close, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.TcpState, 3, 0xA, state: TcpState.Close));
        Assert.Equal("EINPROGRESS", _records.Of<ConnFailRecord>().Single().Error);
        Assert.Empty(_records.Of<ConnOpenRecord>());
        Assert.Empty(_records.Of<ConnCloseRecord>());
        var row = _session.Finish(Tick(), 0, 0, Pid).Rows.Single();
        Assert.Equal((1, 0), (row.Errors["EINPROGRESS"], row.Connections));
    }

    [Fact]
    public void NonBlockingConnect_ItsCloseStateAlone_EndsItTheSameWay()
    {
        // Without close() traced (--no-syscalls), the CLOSE state is what ends the attempt.
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA, result: -115));
        _session.OnSocket(Sock(SocketEventKind.TcpState, 3, 0xA, state: TcpState.Close));
        _session.OnSocket(Sock(SocketEventKind.Close, 3, 0xA));
        Assert.Equal("EINPROGRESS", _records.Of<ConnFailRecord>().Single().Error);
        Assert.Empty(_records.Of<ConnCloseRecord>());
    }

    [Fact]
    public void LoopbackRefusal_StateChangeBeforeConnectReturns_StillFails()
    {
        // On loopback the RST is processed inside connect(): CLOSE arrives before connect's EINPROGRESS.
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.TcpState, 3, 0xA, result: -111, state: TcpState.Close));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA, result: -115));
        Assert.Equal("ECONNREFUSED", _records.Of<ConnFailRecord>().Single().Error);
        Assert.Empty(_records.Of<ConnOpenRecord>());
        var row = _session.Finish(Tick(), 0, 0, Pid).Rows.Single();
        Assert.Equal(1, row.Errors["ECONNREFUSED"]);
        Assert.Equal(0, row.Connections);
    }

    [Fact]
    public void FailedConnect_IsNamedByTheDnsAnswer_InItsRecordAndSummaryRow()
    {
        _session.Names.Add("10.1.2.3", "api.example.test");
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA, result: -111));
        Assert.Equal("api.example.test", _records.Of<ConnFailRecord>().Single().Remote!.Host);
        Assert.Equal("api.example.test", _session.Finish(Tick(), 0, 0, Pid).Rows.Single().Endpoint.Host);
    }

    private static readonly byte[] GetRequest = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray();
    private static readonly byte[] OkResponse = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"u8.ToArray();

    /// <summary>Not a message: 2 ms pass (<see cref="HttpClient"/>).</summary>
    private static readonly byte[] TwoMsPass = [];

    /// <summary>fd 3 connects, then each message goes its way in turn (a request sent, a response received).</summary>
    private void HttpClient(params byte[][] messages)
    {
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA));
        foreach (var m in messages)
        {
            if (m == TwoMsPass)
            {
                Tick(2_000_000);
                continue;
            }
            _session.OnData(Data(3, 0xA, m == GetRequest ? Direction.Send : Direction.Recv, (uint)m.Length), m);
        }
    }

    [Fact]
    public void SummaryRow_CountsRequests_TheirPercentiles_AndThoseLeftUnanswered()
    {
        // Two answered exchanges: each Tick is 1 ms, so the first takes 1 ms and the second 3 ms. A third request
        // the server never answers before the trace ends.
        HttpClient(GetRequest, OkResponse, GetRequest, TwoMsPass, OkResponse, GetRequest);

        var row = _session.Finish(Tick(), 0, 0, Pid).Rows.Single();

        Assert.Equal(3, row.Requests);
        Assert.Equal(1, row.Unanswered);
        // 2 significant digits: a percentile is within 1% of the latency it stands for, and never beyond those seen.
        Assert.InRange(row.P50Ms!.Value, 1.0, 1.01);
        Assert.Equal(3.0, row.P99Ms!.Value);
        Assert.Equal(["http"], row.Protocols);
    }

    [Fact]
    public void SummaryRow_AResponseWhoseRequestCameBeforeTracing_IsARequestWithoutLatency_NotUnanswered()
    {
        HttpClient(OkResponse, GetRequest, OkResponse);

        var row = _session.Finish(Tick(), 0, 0, Pid).Rows.Single();

        var orphan = _records.Of<HttpRecord>().First();
        Assert.Equal((null, 200, true), (orphan.Method, orphan.Status, orphan.RequestUnseen));
        Assert.Equal((2, 0), (row.Requests, row.Unanswered));
    }

    [Fact]
    public void SummaryRow_CountsFailedRequests_ByTheirErrorType()
    {
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA));
        var request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray();
        ulong sent = 0, received = 0;
        foreach (string status in new[] { "404 Not Found", "500 Internal Server Error", "200 OK", "404 Not Found" })
        {
            var response = System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
            // The kernel's stream positions, as it numbers each direction's bytes.
            _session.OnData(Data(3, 0xA, Direction.Send, (uint)request.Length) with { Position = sent }, request);
            _session.OnData(Data(3, 0xA, Direction.Recv, (uint)response.Length) with { Position = received }, response);
            sent += (ulong)request.Length;
            received += (ulong)response.Length;
        }

        var row = _session.Finish(Tick(), 0, 0, Pid).Rows.Single();

        Assert.Equal([404, 500, 200, 404], _records.Of<HttpRecord>().Select(h => h.Status ?? 0));
        Assert.Equal(4, row.Requests);
        Assert.Equal(new Dictionary<string, int> { ["404"] = 2, ["500"] = 1 }, row.RequestErrors);
        Assert.Empty(row.Errors); // the connection itself did not fail
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AKeepAliveConnectionsRecords_AreOneObjectRefilled_OnlyWhenEverySinkIsDoneWithThemOnReturn(bool consumesAtOnce)
    {
        var sink = new SnapshotSink(consumesAtOnce);
        var session = new TraceSession(sink, new NoSocketLookup(), new TraceSettings { ToUnixNs = ns => ns });
        session.OnFork(new ProcessFork(Tick(), Pid, 1, 100, "client"));
        session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA));
        ulong sent = 0, received = 0;
        var responseBytes = new List<long>();
        foreach (var (path, status) in new[] { ("/a", "404 Not Found"), ("/b", "500 Internal Server Error"), ("/a", "200 OK"), ("/c?q=1", "404 Not Found") })
        {
            var request = System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n");
            var response = System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\nok");
            session.OnData(Data(3, 0xA, Direction.Send, (uint)request.Length) with { Position = sent }, request);
            session.OnData(Data(3, 0xA, Direction.Recv, (uint)response.Length) with { Position = received }, response);
            sent += (ulong)request.Length;
            received += (ulong)response.Length;
            responseBytes.Add(response.Length);
        }

        var http = sink.Written.Where(w => w.Record is HttpRecord).ToList();
        // What each record said when it was written: every exchange its own values.
        Assert.Equal(["/a", "/b", "/a", "/c?q=1"], http.Select(w => ((HttpRecord)w.AsWritten).Path));
        Assert.Equal([404, 500, 200, 404], http.Select(w => ((HttpRecord)w.AsWritten).Status ?? 0));
        Assert.Equal(responseBytes, http.Select(w => ((HttpRecord)w.AsWritten).RespBytes ?? 0));
        Assert.Equal(4, http.Select(w => w.AsWritten.TimestampNs).Distinct().Count());
        int objects = http.Select(w => w.Record).Distinct(ReferenceEqualityComparer.Instance).Count();
        if (consumesAtOnce)
        {
            Assert.Equal(1, objects);
        }
        else
        {
            // A sink that keeps records gets four, each still as it was written.
            Assert.Equal(4, objects);
            Assert.All(http, w => Assert.Equal(w.AsWritten, w.Record));
        }
    }

    /// <summary>Keeps each record with a copy taken as it was written; says whether it is done with records on return.</summary>
    private sealed class SnapshotSink(bool consumesAtOnce) : IRecordSink
    {
        public List<(Record Record, Record AsWritten)> Written { get; } = [];

        public bool ConsumesAtOnce => consumesAtOnce;

        public void Write(Record record) => Written.Add((record, record with { }));

        public void Flush()
        {
        }

        public void Dispose()
        {
        }
    }

    [Theory]
    [InlineData("client", 404, "404")]
    [InlineData("client", 503, "503")]
    [InlineData("client", 302, null)]
    [InlineData("server", 404, null)] // the client's failure, not the server's (semantic conventions)
    [InlineData("server", 500, "500")]
    public void HttpErrorType_FollowsTheSemanticConventionsByRole(string role, int status, string? expected)
    {
        var r = new HttpRecord { TimestampNs = 1, Pid = 1, Comm = "c", Conn = "c1", Role = role, Method = "GET", Path = "/", Status = status };
        Assert.Equal(expected, r.ErrorType);
        Assert.Null((r with { Status = null }).ErrorType);
    }

    [Fact]
    public void GrpcErrorType_IsTheCallsStatus_WhateverTheHttpStatus()
    {
        var call = new Tattle.Protocols.Http2.GrpcCall { Service = "s", Method = "m", StatusCode = 5, StatusName = "NOT_FOUND" };
        var r = new HttpRecord { TimestampNs = 1, Pid = 1, Comm = "c", Conn = "c1", Role = "client", Version = "2", Status = 200, Grpc = call };
        Assert.Equal("NOT_FOUND", r.ErrorType);
        Assert.Null((r with { Grpc = call with { StatusCode = 0, StatusName = "OK" } }).ErrorType);
        Assert.Equal("no grpc-status", (r with { Grpc = call with { StatusCode = null, StatusName = null } }).ErrorType);
        Assert.Null((r with { Status = null, Grpc = call with { StatusCode = null, StatusName = null } }).ErrorType);
    }

    [Fact]
    public void SummaryRow_WithoutParsedRequests_HasNoPercentiles()
    {
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA));
        _session.OnData(Data(3, 0xA, Direction.Send, 10), new byte[10]);
        var row = _session.Finish(Tick(), 0, 0, Pid).Rows.Single();
        Assert.Equal(0, row.Requests);
        Assert.Null(row.P50Ms);
        Assert.Null(row.P99Ms);
    }

    [Fact]
    public void ReusedFd_IsANewConnectionWithANewGeneration()
    {
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Close, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xB));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xB));
        var ids = _records.Of<ConnOpenRecord>().Select(o => o.Conn).ToList();
        Assert.Equal(2, ids.Distinct().Count());
    }

    [Fact]
    public void DataOnASocketBehindAnUnseenClose_EndsTheOldConnection()
    {
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA));
        // fd 3 now names another socket (dup2 over it, or a lost close record).
        _session.OnData(Data(3, 0xB, Direction.Send, 10), new byte[10]);
        Assert.Single(_records.Of<ConnCloseRecord>());
        var opens = _records.Of<ConnOpenRecord>().ToList();
        Assert.Equal(2, opens.Count);
        Assert.True(opens[1].Existing);
    }

    [Fact]
    public void LateTcpStateOfAClosedSocket_LeavesTheNewConnectionAtItsFdAlone()
    {
        // nginx under churn: close(11) returns, the old socket's FIN_WAIT/CLOSE transitions come later (softirq,
        // the kernel still naming fd 11 as their owner), and by then accept() has put a new socket at fd 11.
        _session.OnSocket(Sock(SocketEventKind.Accept, 11, 0xA));
        _session.OnData(Data(11, 0xA, Direction.Recv, 93), new byte[93]);
        _session.OnSocket(Sock(SocketEventKind.Close, 11, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Accept, 11, 0xB));
        _session.OnSocket(Sock(SocketEventKind.TcpState, 11, 0xA, state: TcpState.FinWait2));
        _session.OnSocket(Sock(SocketEventKind.TcpState, 11, 0xA, state: TcpState.Close));
        _session.OnData(Data(11, 0xB, Direction.Recv, 93), new byte[93]);
        _session.OnData(Data(11, 0xB, Direction.Send, 1044), new byte[1044]);
        _session.OnSocket(Sock(SocketEventKind.Close, 11, 0xB));

        var opens = _records.Of<ConnOpenRecord>().ToList();
        Assert.Equal(2, opens.Count);
        Assert.All(opens, o => Assert.False(o.Existing));
        var second = _records.Of<ConnCloseRecord>().Single(c => c.Conn == opens[1].Conn);
        Assert.Equal(93UL, second.BytesRecv);
        Assert.Equal(1044UL, second.BytesSent);
    }

    [Fact]
    public void LateDataFromAnotherThread_AfterCloseAndReaccept_IsNotANewConnection()
    {
        // A threaded server: one thread's recv on fd 7 returns after another thread closed fd 7 and a third
        // accepted a new socket there. Each record is written at its call's exit, so the late one comes last.
        _session.OnSocket(Sock(SocketEventKind.Accept, 7, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Close, 7, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Accept, 7, 0xB));
        _session.OnData(Data(7, 0xA, Direction.Recv, 5), new byte[5]);
        _session.OnData(Data(7, 0xB, Direction.Recv, 20), new byte[20]);
        _session.OnSocket(Sock(SocketEventKind.Close, 7, 0xB));

        var opens = _records.Of<ConnOpenRecord>().ToList();
        Assert.Equal(2, opens.Count);
        Assert.All(opens, o => Assert.False(o.Existing));
        Assert.Equal(20UL, _records.Of<ConnCloseRecord>().Single(c => c.Conn == opens[1].Conn).BytesRecv);
    }

    [Fact]
    public void SocketAddressReusedAtTheSameFd_IsLiveAgain()
    {
        _session.OnSocket(Sock(SocketEventKind.Accept, 7, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Close, 7, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Accept, 7, 0xA)); // the kernel reuses a freed sock's address at once
        _session.OnData(Data(7, 0xA, Direction.Recv, 20), new byte[20]);
        _session.OnSocket(Sock(SocketEventKind.Close, 7, 0xA));
        Assert.Equal(20UL, _records.Of<ConnCloseRecord>().Last().BytesRecv);
        Assert.Equal(2, _records.Of<ConnCloseRecord>().Count());
    }

    [Fact]
    public void SocketAddressReusedAtTheSameFd_FirstSeenWithoutIt_IsLiveAgain()
    {
        // The new socket at fd 7 is known without its kernel address until a later event gives it: the freed
        // socket's. Its payloads are the new connection's, not late ones of the closed connection.
        _session.OnSocket(Sock(SocketEventKind.Accept, 7, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Close, 7, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Socket, 7, 0));
        _session.OnSocket(Sock(SocketEventKind.TcpState, 7, 0xA, state: TcpState.SynSent));
        _session.OnSocket(Sock(SocketEventKind.Connect, 7, 0xA));
        _session.OnData(Data(7, 0xA, Direction.Send, 20), new byte[20]);
        _session.OnData(Data(7, 0xA, Direction.Recv, 30), new byte[30]);
        _session.OnSocket(Sock(SocketEventKind.Close, 7, 0xA));
        var closes = _records.Of<ConnCloseRecord>().ToList();
        Assert.Equal(2, closes.Count);
        Assert.NotEqual(closes[0].Conn, closes[1].Conn);
        Assert.Equal(20UL, closes[1].BytesSent);
        Assert.Equal(30UL, closes[1].BytesRecv);
    }

    [Fact]
    public void ProcessExit_ClosesItsConnections()
    {
        _session.OnSocket(Sock(SocketEventKind.Socket, 3, 0xA));
        _session.OnSocket(Sock(SocketEventKind.Connect, 3, 0xA));
        _session.OnExit(new ProcessExit(Tick(), Pid, 100, "client", 9));
        Assert.Single(_records.Of<ConnCloseRecord>());
        var exit = _records.Of<ProcessExitRecord>().Single();
        Assert.Equal(9, exit.Signal);
        Assert.Null(exit.ExitCode);
        Assert.Equal(0, _session.Processes.LiveCount);
    }

    [Fact]
    public void ReusedPid_IsANewProcess()
    {
        _session.OnExit(new ProcessExit(Tick(), Pid, 100, "client", 0));
        _session.OnFork(new ProcessFork(Tick(), Pid, 1, 999_000_000_000, "other"));
        Assert.Equal(2, _records.Of<ProcessStartRecord>().Count());
        Assert.Equal("other", _session.Processes.Find(Pid)!.Comm);
        Assert.Equal(2, _session.Processes.TotalSeen);
    }

    [Fact]
    public void ThousandsOfShortConnections_LeaveNothingBehind()
    {
        for (int i = 0; i < 5000; i++)
        {
            ulong sk = 0x1000 + (ulong)i;
            _session.OnSocket(Sock(SocketEventKind.Socket, 3 + i % 5, sk));
            _session.OnSocket(Sock(SocketEventKind.Connect, 3 + i % 5, sk));
            _session.OnData(Data(3 + i % 5, sk, Direction.Send, 10), new byte[10]);
            _session.OnSocket(Sock(SocketEventKind.Close, 3 + i % 5, sk));
        }
        Assert.Equal(0, _session.OpenConnections);
        var row = _session.Finish(Tick(), 0, 0, Pid).Rows.Single();
        Assert.Equal(5000, row.Connections);
        Assert.Equal(50_000UL, row.BytesSent);
    }

    [Fact]
    public void AThreadPerConnection_LeavesNoThreadEntryBehind()
    {
        // A threaded server: each connection read by a thread of its own, which then goes away.
        for (int i = 0; i < 1000; i++)
        {
            ulong sk = 0x5000 + (ulong)i;
            _session.OnSocket(Sock(SocketEventKind.Accept, 7, sk));
            _session.OnData(Data(7, sk, Direction.Recv, 10) with { Tid = 10_000 + i }, new byte[10]);
            _session.OnSocket(Sock(SocketEventKind.Close, 7, sk));
        }
        Assert.Equal(0, _session.ThreadBindings);
        Assert.Equal(0, _session.OpenConnections);
    }

    [Fact]
    public void UnconnectedUdp_SummarisesPerPeer()
    {
        var peerA = V4("10.0.0.1", 53);
        var peerB = V4("10.0.0.2", 53);
        _session.OnSocket(Sock(SocketEventKind.Socket, 5, 0xC) with { SockType = SocketTypes.Datagram, Protocol = 17 });
        foreach (var (peer, dir, len) in new[] { (peerA, Direction.Send, 30u), (peerA, Direction.Recv, 90u), (peerB, Direction.Send, 31u) })
        {
            _session.OnData(Data(5, 0xC, dir, len) with { SockType = SocketTypes.Datagram, Peer = peer }, new byte[len]);
        }
        var open = _records.Of<ConnOpenRecord>().Single();
        Assert.Equal("udp", open.Proto);
        Assert.Equal("10.0.0.1:53", open.Remote!.ToString());
        Assert.True(open.Unconnected);
        // The close names the first peer and gives each peer its own bytes beside the socket's totals.
        _session.OnSocket(Sock(SocketEventKind.Close, 5, 0xC));
        var close = _records.Of<ConnCloseRecord>().Single();
        Assert.Equal("10.0.0.1:53", close.Remote!.ToString());
        Assert.Equal((61UL, 90UL), (close.BytesSent, close.BytesRecv));
        Assert.Equal(["10.0.0.1:53 30/90", "10.0.0.2:53 31/0"],
            close.Peers.Select(p => $"{p.Remote} {p.BytesSent}/{p.BytesRecv}").Order(StringComparer.Ordinal));
        var rows = _session.Finish(Tick(), 0, 0, Pid).Rows;
        Assert.Equal(2, rows.Count);
        var a = rows.Single(r => r.Endpoint.Addr == "10.0.0.1");
        Assert.Equal(30UL, a.BytesSent);
        Assert.Equal(90UL, a.BytesRecv);
    }

    [Fact]
    public void ConnectedUdp_OpensAtItsConnect_NotUnconnected()
    {
        _session.OnSocket(Sock(SocketEventKind.Socket, 5, 0xE) with { SockType = SocketTypes.Datagram, Protocol = 17 });
        _session.OnSocket(Sock(SocketEventKind.Connect, 5, 0xE) with { SockType = SocketTypes.Datagram, Protocol = 17, Remote = V4("10.0.0.1", 53) });
        _session.OnData(Data(5, 0xE, Direction.Send, 30) with { SockType = SocketTypes.Datagram }, new byte[30]);
        var open = _records.Of<ConnOpenRecord>().Single();
        Assert.Equal(("udp", "10.0.0.1:53", false), (open.Proto, open.Remote!.ToString(), open.Unconnected));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void UnconnectedUdpServer_SummarisesItsClientsInTheRowOfItsOwnAddress(bool sendersKnown)
    {
        // A DNS server's socket answers each client's port: one row (its address), as a TCP server's has. Under
        // --no-syscalls the queries it receives name no sender (its answers, sent with sendto, do): still counted.
        _session.OnSocket(Sock(SocketEventKind.Socket, 5, 0xD) with { SockType = SocketTypes.Datagram, Protocol = 17 });
        _session.OnSocket(Sock(SocketEventKind.Bind, 5, 0xD) with { SockType = SocketTypes.Datagram, Protocol = 17, Local = V4("10.0.0.9", 53) });
        NetAddress Sender(NetAddress peer) => sendersKnown ? peer : default;
        foreach (var (peer, dir, len) in new[] { (Sender(V4("10.0.0.1", 40001)), Direction.Recv, 30u), (V4("10.0.0.1", 40001), Direction.Send, 90u),
            (Sender(V4("10.0.0.2", 40002)), Direction.Recv, 31u), (V4("10.0.0.2", 40002), Direction.Send, 91u) })
        {
            _session.OnData(Data(5, 0xD, dir, len) with { SockType = SocketTypes.Datagram, Peer = peer }, new byte[len]);
        }
        _session.OnSocket(Sock(SocketEventKind.Close, 5, 0xD));
        var row = Assert.Single(_session.Finish(Tick(), 0, 0, Pid).Rows);
        Assert.Equal(("server", "10.0.0.9:53", 2), (row.Role, row.Endpoint.ToString(), row.Connections));
        Assert.Equal((181UL, 61UL), (row.BytesSent, row.BytesRecv));
        // The close names the first client, and each with its bytes (those of unknown sender in the totals only).
        var close = _records.Of<ConnCloseRecord>().Single();
        Assert.Equal("10.0.0.1:40001", close.Remote!.ToString());
        Assert.Equal(sendersKnown ? ["10.0.0.1:40001 90/30", "10.0.0.2:40002 91/31"] : ["10.0.0.1:40001 90/0", "10.0.0.2:40002 91/0"],
            close.Peers.Select(p => $"{p.Remote} {p.BytesSent}/{p.BytesRecv}"));
    }

    [Fact]
    public void NoSyscalls_AConnectedUdpSocketFirstSeenByAnAnswer_IsAClient_AndAnUnconnectedOneHasNoPeer()
    {
        // dig sends its query with sendmmsg (counted, not read) on a connected socket: the first payload seen is the
        // answer. A server's unconnected socket carries the kernel's 0.0.0.0:0 as its peer: none.
        foreach (var (fd, sk, local, remote) in new[] { (6, 0xEUL, V4("127.0.0.1", 40000), V4("127.0.0.1", 53)), (7, 0xFUL, V4("127.0.0.1", 53), V4("0.0.0.0", 0)) })
        {
            _session.OnSocket(Sock(SocketEventKind.Socket, fd, sk) with
            {
                Aux = SocketEvent.FirstPayload,
                SockType = SocketTypes.Datagram,
                Protocol = 17,
                Local = local,
                Remote = remote,
            });
            _session.OnData(Data(fd, sk, Direction.Recv, 40) with { SockType = SocketTypes.Datagram }, new byte[40]);
        }
        var opens = _records.Of<ConnOpenRecord>().ToList();
        Assert.Equal(("client", "127.0.0.1:53"), (opens[0].Role, opens[0].Remote!.ToString()));
        Assert.Equal("server", opens[1].Role);
        Assert.Null(opens[1].Remote);
    }

    [Fact]
    public void NoSyscalls_AConnectLearntFromItsState_TakesItsFdAtTheFirstPayload_AndEndsAtClose()
    {
        // --no-syscalls: the kernel reports the connect's SYN_SENT (no fd yet), then the socket with its fd at its
        // first payload; no close() comes, the CLOSE state ends it.
        var records = new ListSink();
        var session = new TraceSession(records, new NoSocketLookup(), new TraceSettings { ToUnixNs = ns => ns, ClosesFromState = true });
        session.OnFork(new ProcessFork(Tick(), Pid, 1, 100, "client"));
        session.OnSocket(Sock(SocketEventKind.TcpState, -1, 0xD, state: TcpState.SynSent));
        session.OnSocket(Sock(SocketEventKind.TcpState, -1, 0xD, state: TcpState.Established));
        session.OnSocket(Sock(SocketEventKind.Socket, 6, 0xD) with { Aux = SocketEvent.FirstPayload });
        session.OnData(Data(6, 0xD, Direction.Send, 40), new byte[40]);
        session.OnData(Data(6, 0xD, Direction.Recv, 60), new byte[60]);
        session.OnSocket(Sock(SocketEventKind.TcpState, 6, 0xD, state: TcpState.Close));
        // The fd is reused by a socket first seen by its payload (an accepted one): a new connection.
        session.OnSocket(Sock(SocketEventKind.Socket, 6, 0xE) with { Aux = SocketEvent.FirstPayload });
        session.OnData(Data(6, 0xE, Direction.Recv, 10), new byte[10]);

        var opens = records.Of<ConnOpenRecord>().ToList();
        Assert.Equal(2, opens.Count);
        Assert.Equal("client", opens[0].Role);
        Assert.Equal("10.1.2.3:443", opens[0].Remote!.ToString());
        var close = records.Of<ConnCloseRecord>().Single();
        Assert.Equal(opens[0].Conn, close.Conn);
        Assert.Equal(6, close.Fd);
        Assert.Equal((40UL, 60UL), (close.BytesSent, close.BytesRecv));
        Assert.Equal(6, opens[1].Fd);
        Assert.NotEqual(opens[0].Conn, opens[1].Conn);
        Assert.Equal(1, session.OpenConnections);
    }

    private static readonly TlsProbeSummary SomeTlsProbes = new(12, 0, 0, 0, []);

    /// <summary>curl's ClientHello and openssl s_server's ServerHello on fd 3 (captured; see TlsCaptureTests): the handshake is read at the second.</summary>
    private long TlsHandshake()
    {
        TlsHandshakeOn(3, 0xA);
        Assert.Single(_records.Of<TlsHandshakeRecord>());
        return _now;
    }

    private void TlsHandshakeOn(int fd, ulong sock)
    {
        _session.OnSocket(Sock(SocketEventKind.Socket, fd, sock));
        _session.OnSocket(Sock(SocketEventKind.Connect, fd, sock));
        byte[] hello = CapturedBytes.Read("tls", "curl-sni.client.bin");
        byte[] answer = CapturedBytes.Read("tls", "curl-sni.server.bin");
        _session.OnData(Data(fd, sock, Direction.Send, (uint)hello.Length), hello);
        _session.OnData(Data(fd, sock, Direction.Recv, (uint)answer.Length), answer);
    }

    /// <summary>Plaintext the TLS probes read inside a call on fd 3's socket.</summary>
    private void Plaintext(Direction direction, byte[] bytes) =>
        _session.OnData(Data(3, 0xA, direction, (uint)bytes.Length) with { Flags = DataFlags.Last | DataFlags.Tls, TlsSession = 0xabc }, bytes);

    private List<string> Notices() => [.. _records.Of<NoticeRecord>().Select(n => n.Message)];

    private ulong LateConnections() => _session.Finish(Tick(), 0, 0, Pid, SomeTlsProbes).Tls!.LateConnections;

    [Theory]
    [InlineData(false)] // nothing read: the whole exchange ran before the probes
    [InlineData(true)] // read from the response on: its request was not
    public void TlsHandshake_BeforeItsProcessesProbesWentLive_NotReadFromItsStart_IsANotice_AndCounts(bool response)
    {
        _session.WatchTlsProbeTimes();
        long handshake = TlsHandshake();
        _session.TlsProbesLive(Pid, handshake + 2_500_000, gone: false);
        if (response)
        {
            Plaintext(Direction.Recv, OkResponse);
        }
        Assert.Empty(Notices()); // judged as it ends: its plaintext may still be on its way
        _session.OnSocket(Sock(SocketEventKind.Close, 3, 0xA));
        var notice = Assert.Single(Notices());
        Assert.Contains("went live 2.5 ms after the TLS handshake with example.test (10.1.2.3:443)", notice);
        Assert.Contains($"({_records.Of<ConnOpenRecord>().Single().Conn})", notice);
        Assert.Equal(1UL, LateConnections());
        Assert.Single(Notices()); // once per connection
    }

    [Fact]
    public void TlsHandshake_BeforeTheProbes_ButReadFromItsRequest_SaysNothing()
    {
        // The probes' time is that of the last library put on: the program's own may have been on in time.
        _session.WatchTlsProbeTimes();
        long handshake = TlsHandshake();
        _session.TlsProbesLive(Pid, handshake + 2_500_000, gone: false);
        Plaintext(Direction.Send, GetRequest);
        Plaintext(Direction.Recv, OkResponse);
        _session.OnSocket(Sock(SocketEventKind.Close, 3, 0xA));
        Assert.Empty(Notices());
        Assert.Equal(0UL, LateConnections());
    }

    [Fact]
    public void TlsHandshake_AfterTheProbesWentLive_SaysNothing()
    {
        _session.WatchTlsProbeTimes();
        _session.TlsProbesLive(Pid, _now, gone: false);
        TlsHandshake();
        _session.OnSocket(Sock(SocketEventKind.Close, 3, 0xA));
        Assert.Empty(Notices());
        Assert.Equal(0UL, LateConnections());
    }

    [Theory]
    [InlineData(false, "went live 4.0 ms after the TLS handshake")]
    [InlineData(true, "the process ended before they went live; its TLS calls with example.test (10.1.2.3:443)")]
    public void TlsConnection_EndedBeforeItsProbeTimeIsKnown_IsJudgedWhenItIs(bool gone, string said)
    {
        // The probes' time comes from the attaching thread, after the event loop has read the close.
        _session.WatchTlsProbeTimes();
        long handshake = TlsHandshake();
        _session.OnSocket(Sock(SocketEventKind.Close, 3, 0xA));
        Assert.Empty(Notices());
        _session.TlsProbesLive(Pid, handshake + 4_000_000, gone);
        Assert.Contains(said, Assert.Single(Notices()));
        // A later attach that finds the process gone does not undo what an earlier one put on.
        _session.TlsProbesLive(Pid, handshake + 9_000_000, gone: true);
        Assert.Equal(1UL, LateConnections());
    }

    [Fact]
    public void TlsConnection_WhoseProbesNeverWentLive_IsCountedAtTheEnd()
    {
        // The trace stopped while the process's probes were still going on: its ended connection waits for a time
        // that never comes, and must still not go unread in silence.
        _session.WatchTlsProbeTimes();
        TlsHandshake();
        _session.OnSocket(Sock(SocketEventKind.Close, 3, 0xA));
        Assert.Empty(Notices());
        Assert.Equal(1UL, LateConnections());
        Assert.Contains("plaintext probes were not live when the trace ended; its TLS calls with example.test (10.1.2.3:443)", Assert.Single(Notices()));
    }

    [Fact]
    public void TlsConnection_OfAProcessThatGetsNoProbes_IsNotJudged()
    {
        // The agent probes its tls targets only: another's handshake waits for no probe time, and misses nothing.
        _session.WatchTlsProbeTimes();
        _session.TlsProbesWanted = pid => pid != Pid;
        TlsHandshake();
        _session.OnSocket(Sock(SocketEventKind.Close, 3, 0xA));
        Assert.Equal(0UL, LateConnections());
        Assert.Empty(Notices());
    }

    [Fact]
    public void TlsConnections_PastTheNamedOnes_StillCount()
    {
        _session.WatchTlsProbeTimes();
        const int Connections = LateProbes.MaxWaitingPerProcess + 3;
        for (int i = 0; i < Connections; i++)
        {
            TlsHandshakeOn(3, 0xA + (ulong)i);
            _session.OnSocket(Sock(SocketEventKind.Close, 3, 0xA + (ulong)i));
        }
        _session.TlsProbesLive(Pid, _now + 1_000_000, gone: false);
        var notices = Notices();
        Assert.Equal(LateProbes.MaxWaitingPerProcess + 1, notices.Count);
        Assert.Contains("after the TLS handshakes of 3 more connections", notices[^1]);
        Assert.Equal((ulong)Connections, LateConnections());
    }

    [Fact]
    public void TlsConnection_StillOpenAtTheEnd_IsJudgedThen()
    {
        _session.WatchTlsProbeTimes();
        long handshake = TlsHandshake();
        _session.TlsProbesLive(Pid, handshake + 1_000_000, gone: false);
        Assert.Equal(1UL, LateConnections());
        Assert.Contains("went live 1.0 ms after", Assert.Single(Notices()));
    }

    [Fact]
    public void TlsHandshake_WithoutTlsProbes_IsNotJudged()
    {
        // --no-tls: plaintext is not wanted, so none is missing.
        long handshake = TlsHandshake();
        _session.TlsProbesLive(Pid, handshake + 2_000_000, gone: false);
        _session.OnSocket(Sock(SocketEventKind.Close, 3, 0xA));
        Assert.Empty(Notices());
        Assert.Equal(0UL, LateConnections());
    }

    [Fact]
    public void Loss_IsCountedAndWritten()
    {
        _session.OnLoss(new LossEvent(Tick(), 17, "kernel ring buffer full: data records"));
        Assert.Equal(17, _session.Lost);
        Assert.Equal(17, _records.Of<LossRecord>().Single().Count);
        Assert.Equal(17, _session.Finish(Tick(), 0, 0, Pid).Lost);
    }
}
