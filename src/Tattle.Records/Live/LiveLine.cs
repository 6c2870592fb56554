using System.Globalization;
using System.Text;

namespace Tattle.Records.Live;

/// <summary>The few styles the live view and the summary use.</summary>
public enum LiveStyle
{
    Grey,
    Bold,
    Red,
    Green,
    Yellow,
    Blue,
    Cyan,
}

/// <summary>
/// The live view's line under construction: a record describes itself into it. Traced text goes through
/// <see cref="Text"/> (sanitised, never markup); colour is added only when the view writes to a terminal.
/// </summary>
public sealed class LiveLine(bool color)
{
    private readonly StringBuilder _text = new(256);

    /// <summary>Whether styles become SGR codes.</summary>
    public bool Color => color;

    public int Length => _text.Length;

    public void Clear() => _text.Clear();

    public override string ToString() => _text.ToString();

    /// <summary>Appends literal text of Tattle's own (a keyword, a separator): never traced bytes.</summary>
    public LiveLine Word(string word)
    {
        _text.Append(word);
        return this;
    }

    /// <summary>Appends a literal word in a style.</summary>
    public LiveLine Word(LiveStyle style, string word)
    {
        _text.Append(Paint(style, word));
        return this;
    }

    /// <summary>Appends traced text (or "-" for null), sanitised for the terminal.</summary>
    public LiveLine Text(object? value)
    {
        _text.Append(Sanitize(value));
        return this;
    }

    /// <summary>Appends traced text in a style.</summary>
    public LiveLine Text(LiveStyle style, object? value)
    {
        _text.Append(Paint(style, Sanitize(value)));
        return this;
    }

    public LiveLine Space()
    {
        _text.Append(' ');
        return this;
    }

    /// <summary>"->" for a client's message, "<-" for a server's.</summary>
    public LiveLine Arrow(string role) => Word(role == "server" ? "<-" : "->");

    /// <summary>" 1.23 ms", or nothing without a latency.</summary>
    public LiveLine Ms(double? ms)
    {
        if (ms is { } v)
        {
            _text.Append(' ').Append(v.ToString(v < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture)).Append(" ms");
        }
        return this;
    }

    /// <summary>A byte count as people read it (see <see cref="ByteCount"/>).</summary>
    public LiveLine Bytes(ulong n) => Word(ByteCount(n));

    /// <summary>The host name with its address in grey, or the address alone.</summary>
    public LiveLine Peer(Endpoint? ep) =>
        ep?.Host is { } host ? Text(host).Space().Word(Paint(LiveStyle.Grey, "(" + Sanitize(ep) + ")")) : Text(ep);

    /// <summary>The connection's id, in grey, after a space: the end of most lines.</summary>
    public LiveLine Conn(string conn) => Space().Text(LiveStyle.Grey, conn);

    /// <summary>Text (already safe) in a colour, when colour is on.</summary>
    public string Paint(LiveStyle style, string text) => color ? "\e[" + SgrCode(style) + "m" + text + "\e[0m" : text;

    /// <summary>Human-readable byte counts: 512 B, 1.2 KiB, 3.4 MiB.</summary>
    public static string ByteCount(ulong n) => n switch
    {
        < 1024 => $"{n} B",
        < 1024 * 1024 => (n / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        < 1024UL * 1024 * 1024 => (n / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        _ => (n / 1073741824.0).ToString("0.00", CultureInfo.InvariantCulture) + " GiB",
    };

    public static string Sanitize(object? value) => TerminalText.Sanitize(value?.ToString() ?? "-");

    private static string SgrCode(LiveStyle style) => style switch
    {
        LiveStyle.Bold => "1",
        LiveStyle.Red => "31",
        LiveStyle.Green => "32",
        LiveStyle.Yellow => "33",
        LiveStyle.Blue => "34",
        LiveStyle.Cyan => "36",
        _ => "90",
    };
}
