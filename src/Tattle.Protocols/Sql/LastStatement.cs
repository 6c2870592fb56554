using System.Text;
using Tattle.Protocols.Http1;

namespace Tattle.Protocols.Sql;

/// <summary>
/// A connection's last statement text, as sent and as records keep it. A client sends the same text again (a health
/// check, a pool's validation query, an ORM's statement in a loop): when the bytes spell the last one's, both strings
/// are reused, and the redactor's scan is not made again.
/// </summary>
internal sealed class LastStatement(SqlDialect dialect, bool redact)
{
    private string? _sent;
    private string? _shown;

    /// <summary>The text as records keep it: its passwords redacted unless --no-redact.</summary>
    public string Shown(ReadOnlySpan<byte> sent)
    {
        if (_sent is { } last && HttpStrings.EqualsAscii(sent, last))
        {
            return _shown!;
        }
        string text = Encoding.UTF8.GetString(sent);
        string shown = Redact(text);
        // Only ASCII is compared as bytes; other text is decoded each time.
        (_sent, _shown) = Ascii.IsValid(sent) ? (text, shown) : (null, null);
        return shown;
    }

    /// <summary>A statement's text as records keep it, without remembering it.</summary>
    public string Redact(string text) => redact ? SqlSecrets.Redact(text, dialect) : text;
}
