using System.Globalization;
using Tattle.Output.Console;
using Tattle.Protocols.Dns;
using Tattle.Protocols.Http;
using Tattle.Protocols.Tls;
using Tattle.Records;
using Record = Tattle.Records.Record;

namespace Tattle.Tests.Output.Console;

/// <summary>
/// What traced programs control reaches a person's terminal through the live view and the summary: it must come
/// out literally (no markup, no emoji codes, no wrapping) and with every control character escaped.
/// </summary>
public sealed class LiveViewTests
{
    private const long T0 = 1_700_000_000_000_000_000;

    // ESC sequences that retitle the terminal and recolour it, a one-byte CSI (C1), a bell, a carriage return that
    // would overwrite the line, and a right-to-left override.
    private const string Hostile = "a\u001b]0;pwned\u0007\u001b[31m\u009b1m\r\u202ez";

    private static string Render(Record record, bool color = false, bool absolute = false, bool processLines = true)
    {
        var text = new StringWriter { NewLine = "\n" };
        using (var view = new LiveView(text, color, T0) { AbsoluteTime = absolute, ProcessLines = processLines })
        {
            view.Write(record);
        }
        return text.ToString();
    }

    private static Endpoint Peer => new("10.0.0.1", 80, Host: Hostile);

    public static TheoryData<Record> HostileRecords() => new()
    {
        new ProcessStartRecord { TimestampNs = T0, Pid = 1, Comm = Hostile, ParentPid = 0, Argv = ["sh", "-c", Hostile] },
        new ProcessExecRecord { TimestampNs = T0, Pid = 1, Comm = "sh", Argv = [Hostile] },
        new ProcessExitRecord { TimestampNs = T0, Pid = 1, Comm = Hostile, ExitCode = 0 },
        new ConnOpenRecord { TimestampNs = T0, Pid = 1, Comm = "c", Conn = "c1", Proto = "unix", Role = "client", Fd = 3, Local = new(null, null, Path: Hostile), Remote = new(null, null, Path: "/run/" + Hostile) },
        new ConnFailRecord { TimestampNs = T0, Pid = 1, Comm = "c", Conn = "c1", Proto = "tcp", Role = "client", Fd = 3, Remote = Peer, Error = "ECONNREFUSED" },
        new ConnCloseRecord { TimestampNs = T0, Pid = 1, Comm = "c", Conn = "c1", Proto = "tcp", Role = "client", Fd = 3, Remote = Peer, BytesSent = 1, BytesRecv = 2, DurationMs = 1, Unseen = [Hostile] },
        new ListenRecord { TimestampNs = T0, Pid = 1, Comm = "c", Proto = "unix", Fd = 3, Local = new(null, null, Path: Hostile) },
        new DataRecord { TimestampNs = T0, Pid = 1, Comm = "c", Conn = "c1", Dir = "out", Len = 20, Captured = 20, Payload = System.Text.Encoding.UTF8.GetBytes(Hostile) },
        new LossRecord { TimestampNs = T0, Pid = 1, Comm = "c", Count = 1, Where = Hostile },
        new NoticeRecord { TimestampNs = T0, Pid = 1, Comm = "c", Message = Hostile },
        new HttpRecord { TimestampNs = T0, Pid = 1, Comm = "c", Conn = "c1", Role = "client", Method = Hostile, Host = Hostile, Path = "/" + Hostile, Status = 200, Upgrade = Hostile },
        new DnsRecord { TimestampNs = T0, Pid = 1, Comm = "c", Conn = "c1", Role = "client", Query = Hostile, QType = "A", Rcode = Hostile, Answers = [new(Hostile, "TXT", 1, Hostile)], Transport = "udp", Id = 1 },
        new TlsHandshakeRecord { TimestampNs = T0, Pid = 1, Comm = "c", Conn = "c1", Role = "client", Sni = Hostile, Alpn = Hostile, Version = Hostile },
        new GapRecord { TimestampNs = T0, Pid = 1, Comm = "c", Conn = "c1", Dir = "in", Bytes = 3, Reason = Hostile },
    };

    [Theory]
    [MemberData(nameof(HostileRecords))]
    public void EveryRecordType_ShowsControlCharactersEscaped(Record record)
    {
        foreach (bool color in new[] { false, true })
        {
            string line = Render(record, color).TrimEnd('\n');
            Assert.DoesNotContain('\n', line);
            // Colour is Tattle's own SGR codes; with those taken out no control character is left.
            string bare = System.Text.RegularExpressions.Regex.Replace(line, "\u001b\\[[0-9;]*m", "");
            Assert.DoesNotContain(bare, c => char.IsControl(c) || c is '\u202e');
            Assert.Contains("\\x1b", bare);
            if (!color)
            {
                Assert.DoesNotContain('\u001b', line);
            }
        }
    }

    [Fact]
    public void AHandshakeWithoutAlpn_HasNoEmptyWord()
    {
        var offered = new TlsHandshakeRecord { TimestampNs = T0 + 1_500_000_000, Pid = 7, Comm = "curl", Conn = "c1", Role = "client", Sni = "example.com", Version = "TLS 1.3", AlpnOffered = ["h2", "http/1.1"] };
        Assert.Equal("   1.500 curl[7] tls example.com TLS 1.3 h2,http/1.1 c1\n", Render(offered));
        Assert.Equal("   1.500 curl[7] tls example.com TLS 1.3 h2 c1\n", Render(offered with { Alpn = "h2" }));
        Assert.Equal("   1.500 wget[7] tls (no sni) TLS 1.2 c1\n", Render(offered with { Comm = "wget", Sni = null, Version = "TLS 1.2", AlpnOffered = [] }));
    }

    [Fact]
    public void ASocketPair_IsNamedSo_AndItsUnnamedEndsAreStars()
    {
        Endpoint unnamed = new(null, null, Path: "");
        string open = Render(new ConnOpenRecord { TimestampNs = T0 + 1_500_000_000, Pid = 7, Comm = "curl", Conn = "c7", Proto = "unix", Role = "client", Fd = 6, Local = unnamed, Remote = unnamed });
        Assert.Equal("   1.500 curl[7] socketpair unix c7\n", open);
        string close = Render(new ConnCloseRecord { TimestampNs = T0 + 1_500_000_000, Pid = 7, Comm = "curl", Conn = "c7", Proto = "unix", Role = "client", Fd = 6, Local = unnamed, Remote = unnamed, BytesSent = 1, BytesRecv = 0, DurationMs = 0 });
        Assert.Equal("   1.500 curl[7] close c7 unix * sent 1 B recv 0 B in 0.0 ms\n", close);
        // A client bound to no name that connected to a server's path is no pair.
        string client = Render(new ConnOpenRecord { TimestampNs = T0 + 1_500_000_000, Pid = 7, Comm = "app", Conn = "c8", Proto = "unix", Role = "client", Fd = 6, Local = unnamed, Remote = new(null, null, Path: "/run/app.sock") });
        Assert.Equal("   1.500 app[7] connect unix * -> /run/app.sock c8\n", client);
    }

    [Fact]
    public void TracedText_IsPrintedLiterally_AndNeverWrapped()
    {
        string path = "/:rocket:/x/APT::Key::MasterKeyring/[bold]b[/]/" + new string('p', 500);
        string line = Render(new ConnOpenRecord { TimestampNs = T0 + 1_500_000_000, Pid = 7, Comm = "apt:key:", Conn = "c2", Proto = "unix", Role = "client", Fd = 3, Remote = new(null, null, Path: path) });
        Assert.Equal($"   1.500 apt:key:[7] connect unix - -> {path} c2\n", line);
    }

    [Fact]
    public void AbsoluteTime_IsTheTimeOfDay()
    {
        long ns = T0 + 123_456_789;
        string expected = DateTimeOffset.FromUnixTimeMilliseconds(T0 / 1_000_000).AddTicks(1_234_567).ToLocalTime()
            .ToString("HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
        string line = Render(new ProcessExitRecord { TimestampNs = ns, Pid = 1, Comm = "x", ExitCode = 0 }, absolute: true);
        Assert.Matches("^[0-9]{2}:[0-9]{2}:[0-9]{2}\\.123456 x\\[1\\] exit 0\n$", line);
        Assert.StartsWith(expected, line);
    }

    [Fact]
    public void NoProcessLines_HidesStartExecAndExit_ButNotConnections()
    {
        Assert.Empty(Render(new ProcessStartRecord { TimestampNs = T0, Pid = 1, Comm = "x", ParentPid = 0, Argv = ["x"] }, processLines: false));
        Assert.Empty(Render(new ProcessExecRecord { TimestampNs = T0, Pid = 1, Comm = "x", Argv = ["x"] }, processLines: false));
        Assert.Empty(Render(new ProcessExitRecord { TimestampNs = T0, Pid = 1, Comm = "x", ExitCode = 0 }, processLines: false));
        Assert.NotEmpty(Render(new NoticeRecord { TimestampNs = T0, Pid = 1, Comm = "x", Message = "m" }, processLines: false));
    }

    private static SummaryRecord Summary(params SummaryRow[] rows) => new()
    {
        TimestampNs = T0,
        Pid = 1,
        Comm = "x",
        Rows = rows,
        DurationMs = 1000,
        Events = 3,
        Lost = 0,
        Processes = 1,
        Tls = new TlsProbeSummary(0, 0, 0, 0, [Hostile]),
    };

    private static string RenderSummary(SummaryRecord summary, int? width = null)
    {
        var text = new StringWriter { NewLine = "\n" };
        using (var view = new LiveView(text, color: false, T0) { Width = width })
        {
            view.Summary(summary);
        }
        return text.ToString();
    }

    [Fact]
    public void SummaryRow_ShowsControlCharactersEscaped_AndTextLiterally()
    {
        var row = new SummaryRow { Pid = 9, Comm = Hostile, Proto = "unix", Role = "client", Endpoint = new(null, null, Path: "/:rocket:/" + Hostile, Host: Hostile) };
        row.Errors[Hostile] = 1;
        row.Protocols.Add(Hostile);
        string text = RenderSummary(Summary(row));
        Assert.DoesNotContain(text, c => c != '\n' && (char.IsControl(c) || c is '\u202e'));
        Assert.Contains("a\\x1b]0;pwned\\x07\\x1b[31m\\x9b1m\\x0d\\u202ez[9]", text);
        Assert.Contains("/:rocket:/a\\x1b", text);
        Assert.Contains("TLS: not probed: a\\x1b", text);
    }

    [Fact]
    public void SummaryTable_IsNotCut_WithoutATerminal_AndFitsOne()
    {
        string endpoint = "/run/" + new string('s', 300);
        var row = new SummaryRow { Pid = 9, Comm = "x", Proto = "unix", Role = "client", Endpoint = new(null, null, Path: endpoint) };
        Assert.Contains(endpoint, RenderSummary(Summary(row)));
        string fitted = RenderSummary(Summary(row), width: 100);
        Assert.DoesNotContain(endpoint, fitted);
        Assert.All(fitted.Split('\n').Where(l => l.Contains("x[9]")), l => Assert.True(l.Length <= 100, l));
        Assert.Contains("…", fitted);
    }

    [Fact]
    public void SummaryFooter_CountsProcessesInTheSingularAndPlural()
    {
        var row = new SummaryRow { Pid = 9, Comm = "x", Proto = "tcp", Role = "client", Endpoint = new("127.0.0.1", 80) };
        Assert.Contains("\n1 process, 3 kernel events, 0 lost, 1.00 s\n", RenderSummary(Summary(row) with { Processes = 1 }), StringComparison.Ordinal);
        Assert.Contains("\n2 processes, 3 kernel events, 0 lost, 1.00 s\n", RenderSummary(Summary(row) with { Processes = 2 }), StringComparison.Ordinal);
    }

    [Fact]
    public void AnOpen_IsAConnectAnAccept_ADatagramServersNewPeer_OrASendto()
    {
        var open = new ConnOpenRecord { TimestampNs = T0, Pid = 1, Comm = "x", Conn = "c3", Proto = "tcp", Role = "server", Fd = 3, Local = new("127.0.0.1", 80), Remote = new("127.0.0.1", 40000) };
        Assert.Contains("x[1] accept tcp 127.0.0.1:80 <- 127.0.0.1:40000 c3", Render(open), StringComparison.Ordinal);
        Assert.Contains("x[1] new peer udp 127.0.0.1:80 <- 127.0.0.1:40000 c3", Render(open with { Proto = "udp" }), StringComparison.Ordinal);
        Assert.Contains("x[1] connect udp 127.0.0.1:80 -> 127.0.0.1:40000 c3", Render(open with { Proto = "udp", Role = "client" }), StringComparison.Ordinal);
        // A client that sends to an address on an unconnected socket connected nothing.
        Assert.Contains("x[1] sendto udp 127.0.0.1:80 -> 127.0.0.1:40000 c3", Render(open with { Proto = "udp", Role = "client", Unconnected = true }), StringComparison.Ordinal);
        Assert.Contains("x[1] new peer udp 127.0.0.1:80 <- 127.0.0.1:40000 c3", Render(open with { Proto = "udp", Unconnected = true }), StringComparison.Ordinal);
        Assert.Contains("x[1] open (existing) tcp", Render(open with { Existing = true }), StringComparison.Ordinal);
    }

    [Fact]
    public void UnconnectedUdpClose_NamesItsFirstPeer_AndCountsTheOthers()
    {
        Endpoint a = new("127.0.0.1", 9999), b = new("127.0.0.2", 9998), c = new("127.0.0.3", 9997);
        var close = new ConnCloseRecord { TimestampNs = T0, Pid = 1, Comm = "x", Conn = "c3", Proto = "udp", Role = "client", Fd = 3, Remote = a, BytesSent = 30, BytesRecv = 0, DurationMs = 0.3 };
        Assert.Contains("close c3 udp 127.0.0.1:9999 sent 30 B", Render(close), StringComparison.Ordinal);
        Assert.Contains("close c3 udp 127.0.0.1:9999 and 1 other peer sent 30 B",
            Render(close with { Peers = [new(a, 10, 0), new(b, 20, 0)] }), StringComparison.Ordinal);
        Assert.Contains("close c3 udp 127.0.0.1:9999 and 2 other peers sent 30 B",
            Render(close with { Peers = [new(a, 10, 0), new(b, 10, 0), new(c, 10, 0)] }), StringComparison.Ordinal);
    }

    [Fact]
    public void DnsAnswers_AnEmptyAnswer_AndAnError_ReadAsDigWouldSayThem()
    {
        var a = new DnsRecord { TimestampNs = T0, Pid = 3, Comm = "getent", Conn = "c4", Role = "client", Query = "db.internal", QType = "A", Rcode = "NOERROR", Answers = [new("db.internal", "A", 60, "198.18.0.2")], Transport = "udp", Id = 1, LatencyMs = 0.08 };
        Assert.Contains("dns A db.internal -> 198.18.0.2 0.08 ms c4", Render(a), StringComparison.Ordinal);
        Assert.Contains("dns AAAA db.internal -> (no records) 0.15 ms c4", Render(a with { QType = "AAAA", Answers = [], LatencyMs = 0.15 }), StringComparison.Ordinal);
        Assert.Contains("dns A nope.internal -> NXDOMAIN 0.20 ms c4", Render(a with { Query = "nope.internal", Rcode = "NXDOMAIN", Answers = [], LatencyMs = 0.2 }), StringComparison.Ordinal);
        Assert.Contains("dns A db.internal -> (no response) c4", Render(a with { Rcode = null, Answers = [], LatencyMs = null }), StringComparison.Ordinal);
    }

    [Fact]
    public void Http2Streams_ShowPathFirst_GrpcItsStatus_AndHowAStreamEnded()
    {
        var h2 = new HttpRecord { TimestampNs = T0, Pid = 7, Comm = "curl", Conn = "c3", Role = "client", Version = "2", Stream = 1, Method = "GET", Path = "/x", Host = "example.com", Status = 200, RespBytes = 12, LatencyMs = 0.5 };
        Assert.Contains("curl[7] h2 GET /x -> 200 12 B 0.50 ms example.com #1 c3", Render(h2), StringComparison.Ordinal);

        var reset = h2 with { Stream = 5, Status = null, RespBytes = null, LatencyMs = null, Error = new Tattle.Protocols.Http2.Http2StreamError("RST_STREAM", 8, "CANCEL", "client"), HeadersIncomplete = true };
        Assert.Contains("h2 GET /x -> (no response) RST_STREAM CANCEL by client (headers incomplete) example.com #5", Render(reset), StringComparison.Ordinal);

        var grpc = h2 with { Method = "POST", Path = "/demo.v1.Items/Missing", Grpc = new Tattle.Protocols.Http2.GrpcCall { Service = "demo.v1.Items", Method = "Missing", StatusCode = 5, StatusName = "NOT_FOUND", Message = "no such item" }, LatencyMs = 1.2 };
        Assert.Contains("grpc /demo.v1.Items/Missing -> NOT_FOUND no such item 1.20 ms", Render(grpc), StringComparison.Ordinal);

        var push = h2 with { Stream = 2, PromisedBy = 1 };
        Assert.Contains("h2 push GET /x -> 200", Render(push), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "sh", "-c", "echo 'a b'" }, @"sh -c 'echo '\''a b'\'''")]
    [InlineData(new[] { "echo", "it's" }, @"echo 'it'\''s'")]
    [InlineData(new[] { "curl", "-s", "http://h:8000/a?b=1&c=2", "" }, "curl -s 'http://h:8000/a?b=1&c=2' ''")]
    [InlineData(new[] { "ls", "/tmp/x_y-1.txt", "a=b,c@d%e+f:g" }, "ls /tmp/x_y-1.txt a=b,c@d%e+f:g")]
    public void CommandLines_AreQuotedAsAShellReadsThemBack(string[] argv, string expected)
    {
        string line = LiveView.Argv(argv);
        Assert.Equal(expected, line);
        // The real shell splits the line into the same words.
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", @"printf '%s\0' " + line]) { RedirectStandardOutput = true };
        using var sh = System.Diagnostics.Process.Start(psi)!;
        string words = sh.StandardOutput.ReadToEnd();
        sh.WaitForExit();
        Assert.Equal(string.Concat(argv.Select(a => a + "\0")), words);
    }
}
