using System.Net;
using System.Text;
using Tattle.Capture.Events;
using Tattle.Capture.Probes;
using Tattle.Records;
using Tattle.Tests.Support;
using Tattle.Tracking;
using Tattle.Tracking.Calls;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Names;
using Tattle.Tracking.Processes;

namespace Tattle.Tests.Tracking.Calls;

/// <summary>Probed calls fed to a session as the kernel's records would be, with a fake clock: no kernel involved.</summary>
public sealed class CallRecorderTests
{
    private const int Pid = 4242;
    private const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    private const string Libcurl = "/usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0";
    private long _now = 1_000_000_000;

    private readonly ListSink _records = new();
    private readonly ProbedFunctions _functions = new(100);

    private long Tick(long ns = 1_000_000) => _now += ns;

    private TraceSession Session(bool countOnly = false, bool redact = true)
    {
        var session = new TraceSession(_records, new NoSocketLookup(), new TraceSettings
        {
            ToUnixNs = ns => ns + 1_700_000_000_000_000_000,
            Calls = new CallSettings { Functions = _functions, CountOnly = countOnly },
            Streams = new() { Parser = new() { Redact = redact } },
        });
        session.OnFork(new ProcessFork(Tick(), Pid, 1, 100, "client"));
        return session;
    }

    private ProbedFunction Function(string library, string name, bool entryOnly = false, bool hidden = false) =>
        _functions.Add(library, name, BuiltinSignatures.Find(name), entryOnly, hidden)!;

    /// <summary>A call of <paramref name="f"/> that began <paramref name="durationNs"/> before now, with its captured strings.</summary>
    private CallEvent Call(ProbedFunction f, long durationNs, ulong[] args, ulong ret, out byte[] slots, int tid = Pid, params (int Index, string Text)[] strings)
    {
        long end = Tick(durationNs);
        var (e, s) = CallValuesTests.Call(args, ret, [.. strings.Select(c => (c.Index, Encoding.UTF8.GetBytes(c.Text)))]);
        slots = s;
        return e with { Cookie = f.Cookie, StartNs = end - durationNs, TimestampNs = f.EntryOnly ? end - durationNs : end, Pid = Pid, Tid = tid, EntryOnly = f.EntryOnly };
    }

    private void Connect(TraceSession session, int fd, ulong sk, string remote)
    {
        foreach (var kind in new[] { SocketEventKind.Socket, SocketEventKind.Connect })
        {
            session.OnSocket(new SocketEvent
            {
                TimestampNs = Tick(),
                Pid = Pid,
                Tid = Pid,
                Kind = kind,
                Fd = fd,
                SockId = sk,
                Family = NetAddress.AfInet,
                SockType = SocketTypes.Stream,
                Protocol = 6,
                Local = NetAddress.FromEndPoint(new IPEndPoint(IPAddress.Loopback, 40000 + fd)),
                Remote = NetAddress.FromEndPoint(IPEndPoint.Parse(remote)),
            });
        }
    }

    private void Send(TraceSession session, int fd, ulong sk, int tid, long atNs) => session.OnData(new DataEvent
    {
        TimestampNs = atNs,
        Pid = Pid,
        Tid = tid,
        Fd = fd,
        Direction = Direction.Send,
        SockId = sk,
        MessageLength = 10,
        ChunkLength = 10,
        Family = NetAddress.AfInet,
        SockType = SocketTypes.Stream,
        Flags = DataFlags.Last,
    }, new byte[10]);

    private string ConnTo(string remote) => _records.Of<ConnOpenRecord>().Single(r => r.Remote!.ToString() == remote).Conn;

    [Fact]
    public void RegisteredFunction_GivesACallRecord_WithArgumentsResultAndDuration()
    {
        var session = Session();
        var f = Function(Libc, "getaddrinfo");
        var e = Call(f, 2_500_000, [0x7000, 0x7100, 0, 0x7ffd0000], 0, out var slots, strings: [(0, "example.com"), (1, "https")]);
        session.OnCall(in e, slots);

        var call = _records.Of<CallRecord>().Single();
        Assert.Equal("getaddrinfo", call.Function);
        Assert.Equal("libc.so.6", call.Library);
        Assert.Equal(Pid, call.Tid);
        Assert.Equal("client", call.Comm);
        Assert.Equal(e.StartNs + 1_700_000_000_000_000_000, call.TimestampNs);
        Assert.Equal(2500.0, call.DurationUs);
        Assert.Equal(0L, call.Ret!.Value.Signed);
        Assert.Equal(["example.com", "https", "NULL", "0x7ffd0000"], call.Args.Select(a => a.ToString()));
        Assert.Equal(["node", "service", "hints", "res"], call.ArgNames);
        Assert.Null(call.Url);
        Assert.Empty(call.Conns);
    }

    [Fact]
    public void FunctionWithoutSignature_HasItsResultAsALong_AndNoArguments()
    {
        var session = Session();
        var f = _functions.Add("/opt/app/libapp.so", "app_work", null, entryOnly: false)!;
        var e = Call(f, 1000, [1, 2], unchecked((ulong)-5L), out var slots);
        session.OnCall(in e, slots);
        var call = _records.Of<CallRecord>().Single();
        Assert.Equal(-5L, call.Ret!.Value.Signed);
        Assert.Empty(call.Args);
        Assert.Empty(call.ArgNames);
    }

    [Fact]
    public void EntryOnlyCall_HasNoResultNoDurationNoConnections()
    {
        var session = Session();
        Connect(session, 5, 0xA, "10.0.0.1:80");
        var f = Function("/opt/app/server", "zmq_connect", entryOnly: true);
        Send(session, 5, 0xA, Pid, _now);
        var e = Call(f, 0, [0x1000, 0x2000], 0, out var slots, strings: [(1, "tcp://10.0.0.1:80")]);
        session.OnCall(in e, slots);
        var call = _records.Of<CallRecord>().Single();
        Assert.Null(call.DurationUs);
        Assert.Null(call.Ret);
        Assert.Empty(call.Conns);
        Assert.Equal("tcp://10.0.0.1:80", call.Args[1].Text);
    }

    [Fact]
    public void CountOnly_WritesNoRecord_ButCountsCallsErrorsAndTimes()
    {
        var session = Session(countOnly: true);
        var resolve = Function(Libc, "getaddrinfo");
        var connect = Function(Libc, "connect");
        foreach (var (f, us, ret) in new[] { (resolve, 3000L, 0L), (resolve, 1000L, -2L), (connect, 10L, 0L) })
        {
            var e = Call(f, us * 1000, [0x7000, 0, 0, 0x7ffd0000], unchecked((ulong)ret), out var slots);
            session.OnCall(in e, slots);
        }

        Assert.Empty(_records.Of<CallRecord>());
        var stats = session.Finish(_now, 0, 0, Pid).Calls!;
        Assert.Equal(["getaddrinfo", "connect"], stats.Select(s => s.Function));
        var getaddrinfo = stats[0];
        Assert.Equal(("libc.so.6", 2L, 1L), (getaddrinfo.Library, getaddrinfo.Calls, getaddrinfo.Errors));
        Assert.Equal(4000.0, getaddrinfo.TotalUs);
        Assert.Equal(3000.0, getaddrinfo.MaxUs);
        Assert.Equal((1L, 0L), (stats[1].Calls, stats[1].Errors));
    }

    [Fact]
    public void CurlSetopt_IsHidden_ButGivesItsUrlToThePerformOfTheSameHandle()
    {
        var session = Session();
        var setopt = Function(Libcurl, "curl_easy_setopt", hidden: true);
        var perform = Function(Libcurl, "curl_easy_perform");
        var e = Call(setopt, 1000, [0xAB00, 10002, 0x7000], 0, out var slots, strings: [(2, "https://user:hunter2@example.com/x")]);
        session.OnCall(in e, slots);
        e = Call(setopt, 1000, [0xAB00, 13, 30], 0, out slots);
        session.OnCall(in e, slots);
        e = Call(perform, 5_000_000, [0xAB00], 0, out slots);
        session.OnCall(in e, slots);
        e = Call(perform, 5_000_000, [0xCD00], 0, out slots);
        session.OnCall(in e, slots);

        var calls = _records.Of<CallRecord>().ToList();
        Assert.Equal(["curl_easy_perform", "curl_easy_perform"], calls.Select(c => c.Function));
        Assert.Equal("https://REDACTED@example.com/x", calls[0].Url);
        Assert.Null(calls[1].Url);
        Assert.Equal(["curl_easy_perform"], session.Finish(_now, 0, 0, Pid).Calls!.Select(s => s.Function));
    }

    [Fact]
    public void CurlUrl_KeepsItsCredentials_WhenRedactionIsOff()
    {
        var session = Session(redact: false);
        var setopt = Function(Libcurl, "curl_easy_setopt", hidden: true);
        var perform = Function(Libcurl, "curl_easy_perform");
        var e = Call(setopt, 1000, [0xAB00, 10002, 0x7000], 0, out var slots, strings: [(2, "https://user:hunter2@example.com/x")]);
        session.OnCall(in e, slots);
        e = Call(perform, 1000, [0xAB00], 0, out slots);
        session.OnCall(in e, slots);
        Assert.Equal("https://user:hunter2@example.com/x", _records.Of<CallRecord>().Single().Url);
    }

    [Fact]
    public void UnknownFunctionNumber_IsCounted_NotThrown()
    {
        var sink = new ListSink();
        var settings = new TraceSettings { ToUnixNs = ns => ns };
        var recorder = new CallRecorder(new CallSettings { Functions = _functions }, new RecordWriter(sink, settings, new ProcessTable(), new AddressNames()), redact: true);
        var known = Function(Libc, "connect");
        var e = Call(known, 1000, [3, 0, 0], 0, out var slots);
        recorder.OnCall(e with { Cookie = 57 }, slots);
        recorder.OnCall(e with { Cookie = 0xffff | 0x20000 }, slots);
        Assert.Equal(2, recorder.Unknown);
        Assert.Empty(sink.All);
        Assert.Empty(recorder.Stats());
        recorder.OnCall(in e, slots);
        Assert.Single(sink.Of<CallRecord>());
    }

    [Fact]
    public void Conns_AreTheConnectionsTheSameThreadUsedDuringTheCall()
    {
        var session = Session();
        Connect(session, 5, 0xA, "10.0.0.1:443");
        Connect(session, 6, 0xB, "10.0.0.2:443");
        Connect(session, 7, 0xC, "10.0.0.3:443");
        Connect(session, 8, 0xD, "10.0.0.4:443");
        var f = Function(Libcurl, "curl_easy_perform");

        long start = Tick();
        Send(session, 8, 0xD, Pid, start - 10); // before the call
        Send(session, 5, 0xA, Pid, start + 10);
        Send(session, 6, 0xB, Pid + 1, start + 20); // another thread
        Send(session, 7, 0xC, Pid, start + 30);
        Send(session, 5, 0xA, Pid, start + 40);
        var e = Call(f, 50, [0xAB00], 0, out var slots);
        Assert.Equal(start, e.StartNs);
        session.OnCall(in e, slots);
        Send(session, 8, 0xD, Pid, e.TimestampNs + 10); // after it

        var call = _records.Of<CallRecord>().Single();
        Assert.Equal([ConnTo("10.0.0.1:443"), ConnTo("10.0.0.3:443")], call.Conns);
    }

    [Fact]
    public void Conns_OfAnotherThreadsCall_AreItsOwn()
    {
        var session = Session();
        Connect(session, 5, 0xA, "10.0.0.1:53");
        var f = Function(Libc, "getaddrinfo");
        long start = Tick();
        Send(session, 5, 0xA, Pid + 1, start + 10);
        var e = Call(f, 100, [0x7000, 0, 0, 0], 0, out var slots, tid: Pid + 1, strings: [(0, "example.com")]);
        session.OnCall(in e, slots);
        e = Call(f, 100, [0x7000, 0, 0, 0], 0, out slots, tid: Pid, strings: [(0, "example.org")]);
        session.OnCall(in e, slots);
        var calls = _records.Of<CallRecord>().ToList();
        Assert.Equal([ConnTo("10.0.0.1:53")], calls[0].Conns);
        Assert.Empty(calls[1].Conns);
    }
}
