using System.Globalization;
using System.Text;

namespace Tattle.Agent;

/// <summary>
/// Structured log lines on stderr in logfmt (<c>level=info msg="…" key=value</c>), which journald keeps as they
/// are and log shippers parse; one line per event, written at once.
/// </summary>
public sealed class AgentLog(TextWriter writer)
{
    private readonly Lock _lock = new();

    public void Info(string message, params (string Key, object? Value)[] fields) => Write("info", message, fields);

    public void Warn(string message, params (string Key, object? Value)[] fields) => Write("warn", message, fields);

    public void Error(string message, params (string Key, object? Value)[] fields) => Write("error", message, fields);

    private void Write(string level, string message, (string Key, object? Value)[] fields)
    {
        var b = new StringBuilder(128);
        b.Append("ts=").Append(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        b.Append(" level=").Append(level).Append(" msg=");
        Quote(b, message);
        foreach (var (key, value) in fields)
        {
            b.Append(' ').Append(key).Append('=');
            Quote(b, Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
        }
        lock (_lock)
        {
            writer.WriteLine(b.ToString());
            writer.Flush();
        }
    }

    private static void Quote(StringBuilder b, string value)
    {
        bool plain = value.Length > 0 && !value.Any(c => c is ' ' or '"' or '=' or '\\' || char.IsControl(c));
        if (plain)
        {
            b.Append(value);
            return;
        }
        b.Append('"');
        foreach (char c in value)
        {
            _ = c switch
            {
                '"' => b.Append("\\\""),
                '\\' => b.Append("\\\\"),
                '\n' => b.Append("\\n"),
                _ when char.IsControl(c) => b.Append(' '),
                _ => b.Append(c),
            };
        }
        b.Append('"');
    }
}
