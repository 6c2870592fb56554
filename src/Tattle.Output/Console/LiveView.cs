using System.Globalization;
using System.Text;
using Spectre.Console;
using Tattle.Records;

namespace Tattle.Output.Console;

/// <summary>
/// The live view: one line per event worth a human's attention, like strace's, on stderr (or -o FILE);
/// colour only when writing to a terminal.
/// </summary>
public sealed class LiveView : IRecordSink
{
    private readonly IAnsiConsole _console;
    private readonly TextWriter _writer;
    private readonly bool _ownsWriter;
    private readonly long _startUnixNs;

    public LiveView(TextWriter writer, bool color, long startUnixNs, bool ownsWriter = false)
    {
        _writer = writer;
        _ownsWriter = ownsWriter;
        _startUnixNs = startUnixNs;
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = color ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = color ? ColorSystemSupport.Standard : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        _console.Profile.Width = 200;
    }

    /// <summary>The console the summary table is drawn on.</summary>
    public IAnsiConsole Console => _console;

    public void Write(Record record)
    {
        string? line = Describe(record);
        if (line is null)
        {
            return;
        }
        double seconds = (record.TimestampNs - _startUnixNs) / 1e9;
        var who = Markup.Escape($"{record.Comm}[{record.Pid}]");
        _console.MarkupLine($"[grey]{seconds,8:0.000}[/] [bold]{who}[/] {line}");
    }

    private static string? Describe(Record record) => record switch
    {
        ProcessStartRecord p => $"[blue]{(p.Existing ? "attached" : "start")}[/] {Esc(Argv(p.Argv))}" + (p.ParentPid != 0 ? $" [grey](parent {p.ParentPid})[/]" : ""),
        ProcessExecRecord x => $"[blue]exec[/] {Esc(Argv(x.Argv))}",
        ProcessExitRecord x => x.Signal is { } sig ? $"[blue]killed[/] by signal {sig}" : $"[blue]exit[/] {x.ExitCode}",
        ConnOpenRecord o => $"[green]{(o.Existing ? "open (existing)" : o.Role == "server" ? "accept" : "connect")}[/] {o.Proto} {Esc(o.Local)} {Arrow(o.Role)} {Peer(o.Remote)} [grey]{o.Conn}[/]",
        ConnFailRecord f => $"[red]connect failed[/] {f.Proto} {Arrow(f.Role)} {Peer(f.Remote)} [red]{f.Error}[/]",
        ConnCloseRecord c => $"[yellow]close[/] [grey]{c.Conn}[/] {c.Proto} {Peer(c.Remote)} sent {Bytes(c.BytesSent)} recv {Bytes(c.BytesRecv)} in {c.DurationMs.ToString("0.0", CultureInfo.InvariantCulture)} ms"
            + (c.Unseen.Count > 0 ? $" [grey](payload unseen: {string.Join(",", c.Unseen)})[/]" : ""),
        ListenRecord l => $"[green]listen[/] {l.Proto} {Esc(l.Local)}" + (l.Existing ? " [grey](existing)[/]" : ""),
        DataRecord d => $"[grey]{d.Dir}{(d.Tls ? " tls" : "")}[/] [grey]{d.Conn}[/] {d.Len} B{(d.Truncated ? " (truncated)" : "")} {Esc(Preview(d.Payload.Span))}",
        LossRecord l => $"[red]LOST {l.Count}[/] {Esc(l.Where)}",
        NoticeRecord n => $"[yellow]note[/] {Esc(n.Message)}",
        HttpRecord h => $"[cyan]{(h.Tls ? "https" : "http")}[/] {Esc(h.Method ?? "?")} {Esc(HostOf(h))}{Esc(h.Path ?? "")} {Arrow(h.Role)} "
            + (h.Status is { } st ? $"[{(st >= 400 ? "red" : "green")}]{st}[/]" : "[grey](no response)[/]")
            + (h.RespBytes is { } rb ? $" {Bytes((ulong)rb)}" : "") + Ms(h.LatencyMs) + (h.Upgrade is { } up ? $" upgrade {Esc(up)}" : "") + $" [grey]{h.Conn}[/]",
        DnsRecord d => $"[cyan]dns[/] {Esc(d.QType)} {Esc(d.Query)} {Arrow(d.Role)} "
            + (d.Rcode is null ? "[grey](no response)[/]" : $"{(d.Rcode == "NOERROR" ? "" : $"[red]{Esc(d.Rcode)}[/] ")}{Esc(string.Join(", ", d.Answers.Select(a => a.Data)))}")
            + Ms(d.LatencyMs) + $" [grey]{d.Conn}[/]",
        TlsHandshakeRecord t => $"[cyan]tls[/] {Esc(t.Sni ?? "(no sni)")} {Esc(t.Version ?? "")} {Esc(t.Alpn ?? string.Join(",", t.AlpnOffered))} [grey]{t.Conn}[/]",
        GapRecord g => $"[red]gap[/] [grey]{g.Conn}[/] {g.Dir} {Bytes((ulong)g.Bytes)} ({Esc(g.Reason)})",
        _ => null,
    };

    private static string Peer(Endpoint? ep) =>
        ep?.Host is { } host ? $"{Esc(host)} [grey]({Esc(ep)})[/]" : Esc(ep);

    private static string HostOf(HttpRecord h) => h.Host is { } host ? host : h.Remote?.ToString() ?? "";

    private static string Ms(double? ms) =>
        ms is { } v ? " " + v.ToString(v < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture) + " ms" : "";

    private static string Arrow(string role) => role == "server" ? "<-" : "->";

    private static string Esc(object? value) => Markup.Escape(value?.ToString() ?? "-");

    private static string Argv(IReadOnlyList<string> argv) => string.Join(' ', argv.Select(a => a.Contains(' ') ? $"'{a}'" : a));

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

    /// <summary>A plain line after the summary (capture statistics, a file's counts).</summary>
    public void Note(string text) => _console.WriteLine(text, Style.Plain);

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
