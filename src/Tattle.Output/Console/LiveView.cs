using System.Globalization;
using System.Text;
using Tattle.Records;

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
    private readonly StringBuilder _line = new(256);

    public LiveView(TextWriter writer, bool color, long startUnixNs, bool ownsWriter = false)
    {
        _writer = writer;
        _ownsWriter = ownsWriter;
        _startUnixNs = startUnixNs;
        _color = color;
    }

    /// <summary>Wall-clock times of day (20:15:03.123456, local time) instead of seconds since the start.</summary>
    public bool AbsoluteTime { get; init; }

    /// <summary>Whether process start, exec and exit lines are shown.</summary>
    public bool ProcessLines { get; init; } = true;

    /// <summary>The terminal's width in columns, when writing to one; the summary table is fitted to it.</summary>
    public int? Width { get; init; }

    /// <summary>Whether lines carry colour (SGR) codes.</summary>
    public bool Color => _color;

    public void Write(Record record)
    {
        if (!ProcessLines && record is ProcessStartRecord or ProcessExecRecord or ProcessExitRecord)
        {
            return;
        }
        string? line = Describe(record);
        if (line is null)
        {
            return;
        }
        _line.Clear();
        _line.Append(Paint(Sgr.Grey, Time(record.TimestampNs))).Append(' ')
            .Append(Paint(Sgr.Bold, Esc(record.Comm) + "[" + record.Pid.ToString(CultureInfo.InvariantCulture) + "]"))
            .Append(' ').Append(line);
        _writer.WriteLine(_line);
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

    private string? Describe(Record record) => record switch
    {
        ProcessStartRecord p => $"{Paint(Sgr.Blue, p.Existing ? "attached" : "start")} {Esc(Argv(p.Argv))}" + (p.ParentPid != 0 ? " " + Paint(Sgr.Grey, $"(parent {p.ParentPid})") : ""),
        ProcessExecRecord x => $"{Paint(Sgr.Blue, "exec")} {Esc(Argv(x.Argv))}",
        ProcessExitRecord x => x.Signal is { } sig ? $"{Paint(Sgr.Blue, "killed")} by signal {sig}" : $"{Paint(Sgr.Blue, "exit")} {x.ExitCode}",
        ConnOpenRecord o => $"{Paint(Sgr.Green, o.Existing ? "open (existing)" : o.Role == "server" ? "accept" : "connect")} {Esc(o.Proto)} {Esc(o.Local)} {Arrow(o.Role)} {Peer(o.Remote)} {Paint(Sgr.Grey, Esc(o.Conn))}",
        ConnFailRecord f => $"{Paint(Sgr.Red, "connect failed")} {Esc(f.Proto)} {Arrow(f.Role)} {Peer(f.Remote)} {Paint(Sgr.Red, Esc(f.Error))}",
        ConnCloseRecord c => $"{Paint(Sgr.Yellow, "close")} {Paint(Sgr.Grey, Esc(c.Conn))} {Esc(c.Proto)} {Peer(c.Remote)} sent {Bytes(c.BytesSent)} recv {Bytes(c.BytesRecv)} in {c.DurationMs.ToString("0.0", CultureInfo.InvariantCulture)} ms"
            + (c.Unseen.Count > 0 ? " " + Paint(Sgr.Grey, $"(payload unseen: {Esc(string.Join(",", c.Unseen))})") : ""),
        ListenRecord l => $"{Paint(Sgr.Green, "listen")} {Esc(l.Proto)} {Esc(l.Local)}" + (l.Existing ? " " + Paint(Sgr.Grey, "(existing)") : ""),
        DataRecord d => $"{Paint(Sgr.Grey, Esc(d.Dir) + (d.Tls ? " tls" : ""))} {Paint(Sgr.Grey, Esc(d.Conn))} {d.Len} B{(d.Truncated ? " (truncated)" : "")} {Preview(d.Payload.Span)}",
        LossRecord l => $"{Paint(Sgr.Red, $"LOST {l.Count}")} {Esc(l.Where)}",
        NoticeRecord n => $"{Paint(Sgr.Yellow, "note")} {Esc(n.Message)}",
        HttpRecord h => $"{Paint(Sgr.Cyan, h.Tls ? "https" : "http")} {Esc(h.Method ?? "?")} {Esc(HostOf(h))}{Esc(h.Path ?? "")} {Arrow(h.Role)} "
            + (h.Status is { } st ? Paint(st >= 400 ? Sgr.Red : Sgr.Green, st.ToString(CultureInfo.InvariantCulture)) : Paint(Sgr.Grey, "(no response)"))
            + (h.RespBytes is { } rb ? $" {Bytes((ulong)rb)}" : "") + Ms(h.LatencyMs) + (h.Upgrade is { } up ? $" upgrade {Esc(up)}" : "") + " " + Paint(Sgr.Grey, Esc(h.Conn)),
        DnsRecord d => $"{Paint(Sgr.Cyan, "dns")} {Esc(d.QType)} {Esc(d.Query)} {Arrow(d.Role)} "
            + (d.Rcode is null ? Paint(Sgr.Grey, "(no response)") : (d.Rcode == "NOERROR" ? "" : Paint(Sgr.Red, Esc(d.Rcode)) + " ") + Esc(string.Join(", ", d.Answers.Select(a => a.Data))))
            + Ms(d.LatencyMs) + " " + Paint(Sgr.Grey, Esc(d.Conn)),
        TlsHandshakeRecord t => $"{Paint(Sgr.Cyan, "tls")} {Esc(t.Sni ?? "(no sni)")} {Esc(t.Version ?? "")} {Esc(t.Alpn ?? string.Join(",", t.AlpnOffered))} {Paint(Sgr.Grey, Esc(t.Conn))}",
        GapRecord g => $"{Paint(Sgr.Red, "gap")} {Paint(Sgr.Grey, Esc(g.Conn))} {Esc(g.Dir)} {Bytes((ulong)g.Bytes)} ({Esc(g.Reason)})",
        _ => null,
    };

    private string Peer(Endpoint? ep) =>
        ep?.Host is { } host ? $"{Esc(host)} {Paint(Sgr.Grey, "(" + Esc(ep) + ")")}" : Esc(ep);

    private static string HostOf(HttpRecord h) => h.Host is { } host ? host : h.Remote?.ToString() ?? "";

    private static string Ms(double? ms) =>
        ms is { } v ? " " + v.ToString(v < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture) + " ms" : "";

    private static string Arrow(string role) => role == "server" ? "<-" : "->";

    private static string Esc(object? value) => TerminalText.Sanitize(value?.ToString() ?? "-");

    private static string Argv(IReadOnlyList<string> argv) => string.Join(' ', argv.Select(a => a.Contains(' ') ? $"'{a}'" : a));

    /// <summary>Text (already safe) in a colour, when colour is on.</summary>
    internal string Paint(Sgr sgr, string text) => _color ? "\e[" + SgrCode(sgr) + "m" + text + "\e[0m" : text;

    private static string SgrCode(Sgr sgr) => sgr switch
    {
        Sgr.Bold => "1",
        Sgr.Red => "31",
        Sgr.Green => "32",
        Sgr.Yellow => "33",
        Sgr.Blue => "34",
        Sgr.Cyan => "36",
        _ => "90",
    };

    /// <summary>Human-readable byte counts: 512 B, 1.2 KiB, 3.4 MiB.</summary>
    public static string Bytes(ulong n) => n switch
    {
        < 1024 => $"{n} B",
        < 1024 * 1024 => (n / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        < 1024UL * 1024 * 1024 => (n / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        _ => (n / 1073741824.0).ToString("0.00", CultureInfo.InvariantCulture) + " GiB",
    };

    /// <summary>The first bytes of a payload, printable, with C escapes (as strace shows strings).</summary>
    public static string Preview(ReadOnlySpan<byte> data, int max = 64)
    {
        var sb = new StringBuilder("\"");
        foreach (byte b in data[..Math.Min(max, data.Length)])
        {
            sb.Append(b switch
            {
                (byte)'\n' => "\\n",
                (byte)'\r' => "\\r",
                (byte)'\t' => "\\t",
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }
        sb.Append('"');
        if (data.Length > max)
        {
            sb.Append("...");
        }
        return sb.ToString();
    }

    private bool _disposed;

    /// <summary>A plain line after the summary (capture statistics, a file's counts); sanitised, as it may name a file.</summary>
    public void Note(string text) => _writer.WriteLine(TerminalText.Sanitize(text));

    /// <summary>The end-of-run summary table.</summary>
    public void Summary(SummaryRecord summary) => SummaryTable.Render(_writer, summary, this);

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
        Flush();
        _disposed = true;
        if (_ownsWriter)
        {
            _writer.Dispose();
        }
    }
}

/// <summary>The few styles the live view and the summary use.</summary>
internal enum Sgr
{
    Grey,
    Bold,
    Red,
    Green,
    Yellow,
    Blue,
    Cyan,
}
