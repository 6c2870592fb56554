using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Tattle.Tracking.Packets;

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
    /// Writes a comment: <c>pid= comm= conn= dir= [container=] [extra] [cmdline="…"]</c>, comm and cmdline quoted
    /// with \" and \\ escapes where <see cref="TryParse"/> needs them; <paramref name="extra"/> goes in as given.
    /// </summary>
    public static string Format(int pid, string comm, string conn, bool outgoing, string? container, string cmdline, string? extra = null)
    {
        var s = new StringBuilder(64 + cmdline.Length);
        s.Append("pid=").Append(pid).Append(" comm=").Append(Quote(comm)).Append(" conn=").Append(conn)
            .Append(" dir=").Append(outgoing ? "out" : "in");
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
            s.Append(" cmdline=").Append('"').Append(Escape(cmdline)).Append('"');
        }
        return s.ToString();
    }

    private static string Quote(string value) => value.AsSpan().IndexOfAny(" \"\\") < 0 ? value : "\"" + Escape(value) + "\"";

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    /// <summary>
    /// Reads a comment: space-separated key=value pairs, values optionally double-quoted with \" and \\
    /// escapes. Unknown keys and stray words are skipped; a comment without a numeric pid is not an owner.
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
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }
                    value.Append(text[i]);
                    i++;
                }
                i++; // the closing quote (an unterminated value ends with the text)
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
                case "pid":
                    if (int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                    {
                        pid = n;
                    }
                    break;
                case "comm":
                    comm = v;
                    break;
                case "conn":
                    conn = v;
                    break;
                case "dir":
                    dir = v;
                    break;
                case "cmdline":
                    cmdline = v;
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
