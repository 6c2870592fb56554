using System.Globalization;
using System.Text;
using Tattle.Records;
using Tattle.Records.Live;

namespace Tattle.Output.Console;

/// <summary>
/// The live view: one line per event worth a human's attention, like strace's, on stderr (or -o FILE);
/// colour only when writing to a terminal. Traced text is printed literally (no markup, no emoji codes, never
/// wrapped) after <see cref="TerminalText.Sanitize"/>, and nothing here touches the process's console, so no
/// terminal mode is ever changed.
/// </summary>
public sealed class LiveView : IRecordSink
{
    private readonly TextWriter _writer;
    private readonly bool _ownsWriter;
    private readonly long _startUnixNs;
    private readonly bool _color;
    private readonly LiveLine _line;

    public LiveView(TextWriter writer, bool color, long startUnixNs, bool ownsWriter = false)
    {
        _writer = writer;
        _ownsWriter = ownsWriter;
        _startUnixNs = startUnixNs;
        _color = color;
        _line = new LiveLine(color);
    }

    /// <summary>Wall-clock times of day (20:15:03.123456, local time) instead of seconds since the start.</summary>
    public bool AbsoluteTime { get; init; }

    /// <summary>Whether process start, exec and exit lines are shown.</summary>
    public bool ProcessLines { get; init; } = true;

    /// <summary>The terminal's width in columns, when writing to one; the summary table is fitted to it.</summary>
    public int? Width { get; init; }

    /// <summary>Whether lines carry colour (SGR) codes.</summary>
    public bool Color => _color;

    /// <summary>
    /// --live-rate: exchanges, data, connection and call lines shown per second on average (bursts of five seconds'
    /// worth show whole); past it they are folded into a count. Process, loss, failure, gap and notice lines are never
    /// folded. 0 shows every line.
    /// </summary>
    public int MaxLinesPerSecond
    {
        get => _limit?.LinesPerSecond ?? 0;
        init => _limit = value > 0 ? new LiveRateLimit(value) : null;
    }

    /// <summary>Lines folded by <see cref="MaxLinesPerSecond"/> so far.</summary>
    public long Folded => _limit?.Folded ?? 0;

    private readonly LiveRateLimit? _limit;
    private long _lastNs;

    public void Write(Record record)
    {
        if (!ProcessLines && record is ProcessStartRecord or ProcessExecRecord or ProcessExitRecord)
        {
            return;
        }
        if (_limit is { } limit && record.TimestampNs != 0)
        {
            long ns = record.TimestampNs;
            _lastNs = Math.Max(_lastNs, ns);
            if (limit.Due(ns))
            {
                WriteFolded(ns);
            }
            // Checked before anything is formatted: a folded line costs a count, not its text.
            if (record is MessageRecord or DataRecord or ConnOpenRecord or ConnCloseRecord or ListenRecord or CallRecord
                && !limit.Admit(ns))
            {
                limit.Fold(record.Type, ns);
                return;
            }
        }
        _line.Clear();
        _line.Word(LiveStyle.Grey, Time(record.TimestampNs)).Space()
            .Word(LiveStyle.Bold, Esc(record.Comm) + "[" + record.Pid.ToString(CultureInfo.InvariantCulture) + "]").Space();
        if (record is MessageRecord message)
        {
            message.Describe(_line);
        }
        else if (Describe(record) is { } line)
        {
            _line.Word(line);
        }
        else
        {
            return;
        }
        _writer.WriteLine(_line.ToString());
    }

    /// <summary>The lines folded since the last such line, said as tattle's own.</summary>
    private void WriteFolded(long unixNs)
    {
        if (_limit?.TakePending(unixNs) is not { } folded)
        {
            return;
        }
        _line.Clear();
        _line.Word(LiveStyle.Grey, Time(unixNs)).Space().Word(LiveStyle.Bold, "tattle[0]").Space()
            .Word(LiveStyle.Yellow, "folded").Space().Word(folded + $": over --live-rate {_limit.LinesPerSecond.ToString(CultureInfo.InvariantCulture)}");
        _writer.WriteLine(_line.ToString());
    }

    private string Time(long unixNs)
    {
        if (!AbsoluteTime)
        {
            return ((unixNs - _startUnixNs) / 1e9).ToString("0.000", CultureInfo.InvariantCulture).PadLeft(8);
        }
        var local = DateTimeOffset.FromUnixTimeMilliseconds(0).AddTicks(unixNs / 100).ToLocalTime();
        return local.ToString("HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
    }

    /// <summary>An unconnected datagram socket's close names its first peer; the others are counted after it.</summary>
    private static string OtherPeers(ConnCloseRecord c) =>
        c.Peers.Count > 1 ? " and " + Plural.Count(c.Peers.Count - 1, "other peer", "other peers") : "";

    /// <summary>
    /// What opened the connection: a datagram server accepts nothing, its "connection" is the first datagram of a
    /// peer it had not heard from; an unconnected datagram client connects nothing, it sends to an address.
    /// </summary>
    private static string OpenVerb(ConnOpenRecord o) => o.Existing ? "open (existing)"
        : o.Role != "server" ? (o.Unconnected ? "sendto" : "connect")
        : o.Proto == "udp" ? "new peer"
        : "accept";

    private string? Describe(Record record) => record switch
    {
        ProcessStartRecord p => $"{Paint(LiveStyle.Blue, p.Existing ? "attached" : "start")} {Esc(Argv(p.Argv))}" + (p.ParentPid != 0 ? " " + Paint(LiveStyle.Grey, $"(parent {p.ParentPid})") : ""),
        ProcessExecRecord x => $"{Paint(LiveStyle.Blue, "exec")} {Esc(Argv(x.Argv))}",
        ProcessExitRecord x => x.Signal is { } sig ? $"{Paint(LiveStyle.Blue, "killed")} by signal {sig}" : $"{Paint(LiveStyle.Blue, "exit")} {x.ExitCode}",
        ConnOpenRecord { IsSocketPair: true, Existing: false } o => $"{Paint(LiveStyle.Green, "socketpair")} {Esc(o.Proto)} {Paint(LiveStyle.Grey, Esc(o.Conn))}",
        ConnOpenRecord o => $"{Paint(LiveStyle.Green, OpenVerb(o))} {Esc(o.Proto)} {Esc(o.Local)} {Arrow(o.Role)} {Peer(o.Remote)} {Paint(LiveStyle.Grey, Esc(o.Conn))}",
        ConnFailRecord f => $"{Paint(LiveStyle.Red, "connect failed")} {Esc(f.Proto)} {Arrow(f.Role)} {Peer(f.Remote)} {Paint(LiveStyle.Red, Esc(f.Error))}"
            + (f.Error == ConnFailRecord.ClosedWhileConnecting ? " " + Paint(LiveStyle.Grey, "(closed before any answer)") : ""),
        ConnCloseRecord c => $"{Paint(LiveStyle.Yellow, "close")} {Paint(LiveStyle.Grey, Esc(c.Conn))} {Esc(c.Proto)} {Peer(c.Remote)}{OtherPeers(c)} sent {Bytes(c.BytesSent)} recv {Bytes(c.BytesRecv)} in {c.DurationMs.ToString("0.0", CultureInfo.InvariantCulture)} ms"
            + (c.Unseen.Count > 0 ? " " + Paint(LiveStyle.Grey, $"(payload unseen: {Esc(string.Join(",", c.Unseen))})") : ""),
        ListenRecord l => $"{Paint(LiveStyle.Green, "listen")} {Esc(l.Proto)} {Esc(l.Local)}" + (l.Existing ? " " + Paint(LiveStyle.Grey, "(existing)") : ""),
        DataRecord d => $"{Paint(LiveStyle.Grey, Esc(d.Dir) + (d.Tls ? " tls" : ""))} {Paint(LiveStyle.Grey, Esc(d.Conn))} {d.Len} B{(d.Truncated ? " (truncated)" : "")} {Preview(d.Payload.Span)}",
        LossRecord l => $"{Paint(LiveStyle.Red, $"LOST {l.Count}")} {Esc(l.Where)}",
        NoticeRecord n => $"{Paint(LiveStyle.Yellow, "note")} {Esc(n.Message)}",
        CallRecord c => Call(c),
        GapRecord g => $"{Paint(LiveStyle.Red, "gap")} {Paint(LiveStyle.Grey, Esc(g.Conn))} {Esc(g.Dir)} {Bytes((ulong)g.Bytes)} ({Esc(g.Reason)})",
        _ => null,
    };

    /// <summary>As ltrace shows a call: name(args) = result, then its duration, thread, library and connections.</summary>
    private string Call(CallRecord c)
    {
        var args = c.Args.Select((a, i) =>
        {
            string value = a.Text is { } t && a.Signed is null && !(t == "NULL" || t.StartsWith("0x", StringComparison.Ordinal)) ? $"\"{t}\"" : a.ToString();
            if (a.Truncated)
            {
                value += "...";
            }
            return (i < c.ArgNames.Count && c.ArgNames[i] is { } name ? name + "=" : "") + value;
        });
        string head = $"{Paint(LiveStyle.Cyan, "call")} {Esc(c.Function)}({Esc(string.Join(", ", args))})";
        string ret = c.Ret is { } r ? $" = {Esc(r)}" : "";
        string time = c.DurationUs is { } us ? " " + Paint(LiveStyle.Yellow, us >= 1000 ? $"<{(us / 1000).ToString("0.000", CultureInfo.InvariantCulture)} ms>" : $"<{us.ToString("0.0", CultureInfo.InvariantCulture)} µs>") : "";
        string url = c.Url is { } u ? $" {Esc(u)}" : "";
        string conns = c.Conns.Count > 0 ? " " + Paint(LiveStyle.Grey, "-> " + Esc(string.Join(",", c.Conns))) : "";
        return head + ret + time + url + " " + Paint(LiveStyle.Grey, $"[tid {c.Tid} {Esc(c.Library)}]") + conns;
    }

    private string Peer(Endpoint? ep) =>
        ep?.Host is { } host ? $"{Esc(host)} {Paint(LiveStyle.Grey, "(" + Esc(ep) + ")")}" : Esc(ep);

    private static string Arrow(string role) => role == "server" ? "<-" : "->";

    private static string Esc(object? value) => TerminalText.Sanitize(value?.ToString() ?? "-");

    /// <summary>A command line a POSIX shell reads back as the same words: quoted only where a word needs it.</summary>
    internal static string Argv(IReadOnlyList<string> argv) => string.Join(' ', argv.Select(ShellWord));

    private static readonly System.Buffers.SearchValues<char> ShellSafe =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-");

    // Inside single quotes nothing is special but the quote itself, which closes, is escaped and reopens: '\''.
    private static string ShellWord(string word) =>
        word.Length == 0 ? "''"
        : !word.AsSpan().ContainsAnyExcept(ShellSafe) ? word
        : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Text (already safe) in a colour, when colour is on.</summary>
    internal string Paint(LiveStyle style, string text) => _line.Paint(style, text);

    /// <summary>Human-readable byte counts: 512 B, 1.2 KiB, 3.4 MiB.</summary>
    public static string Bytes(ulong n) => LiveLine.ByteCount(n);

    /// <summary>The first bytes of a payload, printable, with C escapes (as strace shows strings).</summary>
    public static string Preview(ReadOnlySpan<byte> data, int max = 64) =>
        "\"" + CEscapes.Escape(data[..Math.Min(max, data.Length)]) + "\"" + (data.Length > max ? "..." : "");

    private bool _disposed;

    /// <summary>A plain line after the summary (capture statistics, a file's counts); sanitised, as it may name a file.</summary>
    public void Note(string text) => _writer.WriteLine(TerminalText.Sanitize(text));

    /// <summary>The end-of-run summary table, and how many lines the view folded.</summary>
    public void Summary(SummaryRecord summary)
    {
        WriteFolded(_lastNs);
        SummaryTable.Render(_writer, summary, this);
        if (Folded > 0)
        {
            _writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"live view: {Folded} lines folded at --live-rate {MaxLinesPerSecond} (--live-rate 0 shows every line; --json FILE keeps every record)"));
        }
    }

    // A record's line is formatted, or folded into a count, before Write returns.
    public bool ConsumesAtOnce => true;

    public void Flush()
    {
        if (!_disposed)
        {
            _writer.Flush();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        WriteFolded(_lastNs);
        Flush();
        _disposed = true;
        if (_ownsWriter)
        {
            _writer.Dispose();
        }
    }
}
