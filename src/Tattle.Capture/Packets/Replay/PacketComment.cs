using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Tattle.Capture.Packets.Replay;

/// <summary>
/// The owner Tattle writes in a captured packet's comment:
/// <c>pid=1234 comm=curl conn=c3 dir=out cmdline="curl -s http://x/"</c>.
/// </summary>
public sealed record PacketComment
{
    /// <summary>The process that sent or received the packet.</summary>
    public required int Pid { get; init; }

    public string? Comm { get; init; }

    /// <summary>The connection id Tattle gave the socket (c3), when known.</summary>
    public string? Conn { get; init; }

    /// <summary>"out" when the process sent the packet, "in" when it received it; null when not said.</summary>
    public string? Dir { get; init; }

    public string? Cmdline { get; init; }

    /// <summary>"plaintext" on the packets of the synthetic interface that carries decrypted TLS (tls=plaintext).</summary>
    public string? Tls { get; init; }

    /// <summary>The packet is made, not captured: TLS plaintext of the connection <see cref="Conn"/> names.</summary>
    public bool IsTlsPlaintext => Tls == "plaintext";

    /// <summary>"synthetic" when a plaintext flow's addresses are made up: its socket was never seen (addr=synthetic).</summary>
    public string? Addr { get; init; }

    /// <summary>The process sent the packet (dir=out); false when it received it or the comment does not say.</summary>
    public bool IsOutgoing => Dir == "out";

    /// <summary>Whether the comment says which way the packet went.</summary>
    public bool HasDirection => Dir is "out" or "in";

    /// <summary>
    /// Writes a comment: <c>pid= comm= conn= dir= [container=] [extra] [cmdline="…"]</c>. The comm is quoted when
    /// it holds anything but visible characters, and quoted values escape \", \\, \t, \n, \r, other control
    /// characters (\xHH) and whitespace other than a space (\uHHHH): a traced process names itself, and a name like
    /// <c>x\tpid=1</c> must not read back as a second pid. <paramref name="extra"/> goes in as given.
    /// </summary>
    public static string Format(int pid, string comm, string conn, bool outgoing, string? container, string cmdline, string? extra = null)
    {
        var s = new StringBuilder(64 + cmdline.Length);
        s.Append("pid=").Append(pid).Append(" comm=");
        AppendValue(s, comm);
        s.Append(" conn=").Append(conn).Append(" dir=").Append(outgoing ? "out" : "in");
        if (container is not null)
        {
            s.Append(" container=").Append(container);
        }
        if (!string.IsNullOrEmpty(extra))
        {
            s.Append(' ').Append(extra);
        }
        if (cmdline.Length > 0)
        {
            s.Append(" cmdline=");
            AppendQuoted(s, cmdline);
        }
        return s.ToString();
    }

    /// <summary>
    /// A command line <see cref="Argv"/> splits back into exactly <paramref name="argv"/>: each argument that holds
    /// whitespace, a quote, a backslash or a control character (or is empty) in single quotes, a quote in it as '\''.
    /// </summary>
    public static string JoinArgv(IReadOnlyList<string> argv)
    {
        var s = new StringBuilder();
        foreach (string arg in argv)
        {
            if (s.Length > 0)
            {
                s.Append(' ');
            }
            if (arg.Length > 0 && !arg.AsSpan().ContainsAny(ShellSpecial) && !HasWhiteSpaceOrControl(arg))
            {
                s.Append(arg);
                continue;
            }
            s.Append('\'');
            s.Append(arg.Replace("'", "'\\''", StringComparison.Ordinal));
            s.Append('\'');
        }
        return s.ToString();
    }

    private static readonly System.Buffers.SearchValues<char> ShellSpecial = System.Buffers.SearchValues.Create("\"'\\");

    private static bool HasWhiteSpaceOrControl(string value)
    {
        foreach (char c in value)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return true;
            }
        }
        return false;
    }

    private static void AppendValue(StringBuilder s, string value)
    {
        if (value.Length > 0 && !value.AsSpan().ContainsAny(ShellSpecial) && !HasWhiteSpaceOrControl(value))
        {
            s.Append(value);
        }
        else
        {
            AppendQuoted(s, value);
        }
    }

    private static void AppendQuoted(StringBuilder s, string value)
    {
        s.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"' or '\\':
                    s.Append('\\').Append(c);
                    break;
                case '\t':
                    s.Append("\\t");
                    break;
                case '\n':
                    s.Append("\\n");
                    break;
                case '\r':
                    s.Append("\\r");
                    break;
                case < '\u0100' when char.IsControl(c):
                    s.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    break;
                case not ' ' when char.IsWhiteSpace(c):
                    s.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    s.Append(c);
                    break;
            }
        }
        s.Append('"');
    }

    /// <summary>
    /// Reads a comment: space-separated key=value pairs, values optionally double-quoted with the escapes
    /// <see cref="Format"/> writes (any other escaped character stands for itself). Unknown keys and stray words
    /// are skipped; the first of a repeated key counts; a comment without a numeric pid is not an owner.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out PacketComment? comment)
    {
        comment = null;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        int? pid = null;
        string? comm = null, conn = null, dir = null, cmdline = null, tls = null, addr = null;
        int i = 0;
        var value = new StringBuilder();
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            int keyStart = i;
            while (i < text.Length && text[i] != '=' && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            string key = text[keyStart..i];
            if (i >= text.Length || text[i] != '=')
            {
                continue; // a word without a value: skipped
            }
            i++;
            value.Clear();
            if (i < text.Length && text[i] == '"')
            {
                i = ReadQuoted(text, i + 1, value);
            }
            else
            {
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                {
                    value.Append(text[i]);
                    i++;
                }
            }
            string v = value.ToString();
            switch (key)
            {
                case "pid" when pid is null:
                    if (int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                    {
                        pid = n;
                    }
                    break;
                case "comm":
                    comm ??= v;
                    break;
                case "conn":
                    conn ??= v;
                    break;
                case "dir":
                    dir ??= v;
                    break;
                case "cmdline":
                    cmdline ??= v;
                    break;
                case "tls":
                    tls = v;
                    break;
                case "addr":
                    addr = v;
                    break;
            }
        }
        if (pid is null)
        {
            return false;
        }
        comment = new PacketComment { Pid = pid.Value, Comm = comm, Conn = conn, Dir = dir, Cmdline = cmdline, Tls = tls, Addr = addr };
        return true;
    }

    /// <summary>A quoted value from just after its opening quote; returns the index after its closing quote.</summary>
    private static int ReadQuoted(string text, int i, StringBuilder value)
    {
        while (i < text.Length && text[i] != '"')
        {
            if (text[i] != '\\' || i + 1 >= text.Length)
            {
                value.Append(text[i++]);
                continue;
            }
            char e = text[i + 1];
            int digits = e == 'x' ? 2 : e == 'u' ? 4 : 0;
            if (digits > 0 && i + 2 + digits <= text.Length
                && int.TryParse(text.AsSpan(i + 2, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
            {
                value.Append((char)code);
                i += 2 + digits;
                continue;
            }
            value.Append(e switch { 't' => '\t', 'n' => '\n', 'r' => '\r', _ => e });
            i += 2;
        }
        return i + 1; // past the closing quote (an unterminated value ends with the text)
    }

    /// <summary>
    /// The command line as arguments: split at spaces outside quotes, with single or double quotes grouping
    /// words and a backslash escaping the next character (a shell's quoting, which is how a command line is
    /// usually written down). Empty when there is none.
    /// </summary>
    public IReadOnlyList<string> Argv()
    {
        var args = new List<string>();
        if (string.IsNullOrWhiteSpace(Cmdline))
        {
            return args;
        }
        var word = new StringBuilder();
        bool inWord = false;
        char quote = '\0';
        string s = Cmdline;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else if (c == '\\' && quote == '"' && i + 1 < s.Length)
                {
                    word.Append(s[++i]);
                }
                else
                {
                    word.Append(c);
                }
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    args.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else
            {
                inWord = true;
                if (c is '"' or '\'')
                {
                    quote = c;
                }
                else if (c == '\\' && i + 1 < s.Length)
                {
                    word.Append(s[++i]);
                }
                else
                {
                    word.Append(c);
                }
            }
        }
        if (inWord)
        {
            args.Add(word.ToString());
        }
        return args;
    }
}
