using System.Buffers.Text;

namespace Tattle.Protocols.Memcached;

/// <summary>How a command's line is laid out and how it is answered.</summary>
internal enum CommandKind : byte
{
    /// <summary>get, gets: keys; VALUE lines then END.</summary>
    Get,

    /// <summary>gat, gats: an exptime then keys; VALUE lines then END.</summary>
    GetAndTouch,

    /// <summary>set, add, replace, append, prepend: key flags exptime bytes [noreply], then a data block.</summary>
    Store,

    /// <summary>cas: key flags exptime bytes cas-unique [noreply], then a data block.</summary>
    Cas,

    Delete,

    /// <summary>incr, decr: answered with the new value.</summary>
    Arith,

    Touch,

    /// <summary>stats [group]: STAT (or ITEM) lines then END; RESET or OK for its subcommands.</summary>
    Stats,

    /// <summary>version, flush_all, verbosity and commands not listed here: a one-line reply.</summary>
    Other,

    /// <summary>The server closes the connection without a reply.</summary>
    Quit,

    MetaGet,
    MetaSet,
    MetaDelete,
    MetaArith,
    MetaNoop,
    MetaDebug,
}

/// <summary>A command word and what it is.</summary>
internal sealed class CommandInfo(string name, CommandKind kind)
{
    public byte[] Word { get; } = System.Text.Encoding.ASCII.GetBytes(name);

    public string Name { get; } = name;

    public CommandKind Kind { get; } = kind;

    public bool IsMeta => Kind >= CommandKind.MetaGet;

    public bool IsRetrieval => Kind is CommandKind.Get or CommandKind.GetAndTouch or CommandKind.MetaGet;

    public bool IsStorage => Kind is CommandKind.Store or CommandKind.Cas or CommandKind.MetaSet;
}

/// <summary>What a command line says, as offsets into the line so that reading it allocates nothing.</summary>
internal struct CommandLine
{
    public int KeyStart;
    public int KeyLength;
    public int Keys;
    public long? Flags;

    /// <summary>The data block that follows the line (storage commands), without its CRLF.</summary>
    public long? Bytes;

    /// <summary>Classic <c>noreply</c>: the server never answers.</summary>
    public bool NoReply;

    /// <summary>Meta <c>q</c>: the server leaves out the command's usual outcome (see <see cref="MemcachedReplies.Suppressed"/>).</summary>
    public bool Quiet;

    public int OpaqueStart;
    public int OpaqueLength;
}

/// <summary>The commands of memcached 1.6's protocol.txt and how their lines read.</summary>
internal static class MemcachedCommands
{
    /// <summary>memcached refuses keys longer than this.</summary>
    public const int MaxKey = 250;

    /// <summary>A data block larger than this is not memcached's (its item size limit is at most 1 GiB).</summary>
    public const long MaxBlock = 1L << 30;

    private static readonly CommandInfo[] All =
    [
        new("get", CommandKind.Get), new("gets", CommandKind.Get), new("gat", CommandKind.GetAndTouch),
        new("gats", CommandKind.GetAndTouch), new("set", CommandKind.Store), new("add", CommandKind.Store),
        new("replace", CommandKind.Store), new("append", CommandKind.Store), new("prepend", CommandKind.Store),
        new("cas", CommandKind.Cas), new("delete", CommandKind.Delete), new("incr", CommandKind.Arith),
        new("decr", CommandKind.Arith), new("touch", CommandKind.Touch), new("stats", CommandKind.Stats),
        new("version", CommandKind.Other), new("flush_all", CommandKind.Other), new("verbosity", CommandKind.Other),
        new("quit", CommandKind.Quit), new("mg", CommandKind.MetaGet), new("ms", CommandKind.MetaSet),
        new("md", CommandKind.MetaDelete), new("ma", CommandKind.MetaArith), new("mn", CommandKind.MetaNoop),
        new("me", CommandKind.MetaDebug),
    ];

    public static CommandInfo? Find(ReadOnlySpan<byte> word)
    {
        if (word.Length is < 2 or > 9)
        {
            return null;
        }
        foreach (var c in All)
        {
            if (word.SequenceEqual(c.Word))
            {
                return c;
            }
        }
        return null;
    }

    /// <summary>Whether <paramref name="word"/> begins some command word.</summary>
    public static bool IsPrefix(ReadOnlySpan<byte> word)
    {
        foreach (var c in All)
        {
            if (c.Word.AsSpan().StartsWith(word))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Reads the arguments of <paramref name="command"/>'s <paramref name="line"/> (without its CRLF); false when
    /// they are not what the command takes (memcached answers such a line with an error).
    /// </summary>
    public static bool Describe(CommandInfo command, ReadOnlySpan<byte> line, out CommandLine parsed)
    {
        parsed = default;
        var words = new Words(line);
        words.Next(out _, out _);
        switch (command.Kind)
        {
            case CommandKind.Get:
            case CommandKind.GetAndTouch:
                if (command.Kind == CommandKind.GetAndTouch && !words.Number(out _))
                {
                    return false;
                }
                while (words.Next(out int start, out int length))
                {
                    if (parsed.Keys++ == 0)
                    {
                        (parsed.KeyStart, parsed.KeyLength) = (start, length);
                    }
                }
                return parsed.Keys > 0 && parsed.KeyLength <= MaxKey;
            case CommandKind.Store:
            case CommandKind.Cas:
                if (!Key(ref words, ref parsed) || !words.Number(out long flags) || !words.Number(out _) || !words.Number(out long bytes)
                    || flags < 0 || bytes is < 0 or > MaxBlock || (command.Kind == CommandKind.Cas && !words.Number(out _)))
                {
                    return false;
                }
                (parsed.Flags, parsed.Bytes) = (flags, bytes);
                return NoReply(ref words, ref parsed);
            case CommandKind.Delete:
            case CommandKind.Arith:
            case CommandKind.Touch:
                if (!Key(ref words, ref parsed) || (command.Kind != CommandKind.Delete && !words.Number(out _)))
                {
                    return false;
                }
                // delete's optional time (0, the only value memcached still takes) may come before noreply.
                if (command.Kind == CommandKind.Delete && words.Peek(out var next) && next.SequenceEqual("0"u8))
                {
                    words.Next(out _, out _);
                }
                return NoReply(ref words, ref parsed);
            case CommandKind.Stats:
            case CommandKind.Quit:
                return true;
            case CommandKind.Other:
                while (words.Next(out int start, out int length))
                {
                    parsed.NoReply = line.Slice(start, length).SequenceEqual("noreply"u8);
                }
                return true;
            case CommandKind.MetaNoop:
                return !words.Next(out _, out _);
            case CommandKind.MetaSet:
                if (!Key(ref words, ref parsed) || !words.Number(out long size) || size is < 0 or > MaxBlock)
                {
                    return false;
                }
                parsed.Bytes = size;
                return MetaFlags(line, ref words, ref parsed);
            default:
                return Key(ref words, ref parsed) && MetaFlags(line, ref words, ref parsed);
        }
    }

    private static bool Key(ref Words words, ref CommandLine parsed)
    {
        if (!words.Next(out parsed.KeyStart, out parsed.KeyLength) || parsed.KeyLength > MaxKey)
        {
            return false;
        }
        parsed.Keys = 1;
        return true;
    }

    private static bool NoReply(ref Words words, ref CommandLine parsed)
    {
        if (words.Peek(out var word))
        {
            if (!word.SequenceEqual("noreply"u8))
            {
                return false;
            }
            words.Next(out _, out _);
            parsed.NoReply = true;
        }
        return !words.Next(out _, out _);
    }

    /// <summary>Meta flags: one letter, maybe a token after it (<c>q</c>, <c>Oopaque</c>, <c>F5</c>).</summary>
    private static bool MetaFlags(ReadOnlySpan<byte> line, ref Words words, ref CommandLine parsed)
    {
        while (words.Next(out int start, out int length))
        {
            var token = line.Slice(start + 1, length - 1);
            switch (line[start])
            {
                case (byte)'q':
                    parsed.Quiet = true;
                    break;
                case (byte)'O':
                    (parsed.OpaqueStart, parsed.OpaqueLength) = (start + 1, length - 1);
                    break;
                case (byte)'F' when Utf8Parser.TryParse(token, out ulong flags, out int used) && used == token.Length:
                    parsed.Flags = (long)Math.Min(flags, long.MaxValue);
                    break;
                case (byte)'S' when parsed.Bytes is null && Utf8Parser.TryParse(token, out long size, out int used) && used == token.Length && size <= MaxBlock:
                    // Before 1.6 the data length was the S flag's token.
                    parsed.Bytes = size;
                    break;
                default:
                    if (!char.IsAsciiLetter((char)line[start]))
                    {
                        return false;
                    }
                    break;
            }
        }
        return true;
    }
}

/// <summary>The space-separated words of a line, as offsets.</summary>
internal ref struct Words(ReadOnlySpan<byte> line)
{
    private readonly ReadOnlySpan<byte> _line = line;
    private int _p;

    public bool Next(out int start, out int length)
    {
        while (_p < _line.Length && _line[_p] == ' ')
        {
            _p++;
        }
        start = _p;
        while (_p < _line.Length && _line[_p] != ' ')
        {
            _p++;
        }
        length = _p - start;
        return length > 0;
    }

    public readonly bool Peek(out ReadOnlySpan<byte> word)
    {
        var copy = this;
        bool found = copy.Next(out int start, out int length);
        word = found ? _line.Slice(start, length) : default;
        return found;
    }

    /// <summary>The next word as a non-negative decimal (exptime may be negative: it is then read too).</summary>
    public bool Number(out long value)
    {
        value = 0;
        if (!Next(out int start, out int length))
        {
            return false;
        }
        var word = _line.Slice(start, length);
        return Utf8Parser.TryParse(word, out value, out int used) && used == word.Length && (value >= 0 || word[0] == '-');
    }
}
