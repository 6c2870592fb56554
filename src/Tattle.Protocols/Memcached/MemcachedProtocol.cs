using Tattle.Protocols.Common;

namespace Tattle.Protocols.Memcached;

/// <summary>memcached's text and meta protocols (the binary one is recognised and marked only; see README.md).</summary>
public static class MemcachedProtocol
{
    public const string Name = "memcached";

    /// <summary>memcached's default port: a hint for bare commands, replies and the binary protocol only.</summary>
    public const int Port = 11211;

    /// <summary>A command line longer than this is not memcached's (a get of many 250-byte keys fits).</summary>
    internal const int MaxLine = 64 * 1024;

    public static ProtocolInfo Info { get; } = new(Name, Probe, (options, sink) => new MemcachedParser(sink));

    /// <summary>
    /// A client line holding a known lower-case command with the arguments it takes (a key, numbers where numbers go)
    /// claims the direction on any port; a bare command (<c>version</c>, <c>stats</c>, <c>mn</c>), a reply, or a
    /// binary-protocol header only with port 11211 at an end.
    /// </summary>
    public static Detection Probe(ReadOnlySpan<byte> data, bool datagram, int localPort, int remotePort)
    {
        if (datagram || data.IsEmpty)
        {
            return Detection.No;
        }
        bool port = localPort == Port || remotePort == Port;
        if (data[0] is 0x80 or 0x81)
        {
            if (!port)
            {
                return Detection.No;
            }
            // The binary header is 24 bytes; its data type byte is always 0 ("raw bytes").
            if (data.Length < 24)
            {
                return Detection.NeedMoreData;
            }
            return data[5] != 0 ? Detection.No : data[0] == 0x80 ? Detection.Request : Detection.Response;
        }
        int eol = data.IndexOf("\r\n"u8);
        if (eol < 0)
        {
            return data.Length < 512 && CouldStartCommand(data) ? Detection.NeedMoreData : Detection.No;
        }
        var line = data[..eol];
        var command = MemcachedCommands.Find(FirstWord(line));
        if (command is not null && MemcachedCommands.Describe(command, line, out _) && (port || command.Kind != CommandKind.Other && HasArguments(line)))
        {
            return Detection.Request;
        }
        return port && IsReplyStart(data) ? Detection.Response : Detection.No;
    }

    private static bool HasArguments(ReadOnlySpan<byte> line) => line.IndexOf((byte)' ') > 0;

    /// <summary>A prefix of a known command word, or such a word and a space: the line may still become a command.</summary>
    private static bool CouldStartCommand(ReadOnlySpan<byte> data)
    {
        int space = data.IndexOf((byte)' ');
        var word = space < 0 ? data : data[..space];
        if (data.Length > 0 && data[^1] == '\r')
        {
            word = space < 0 ? data[..^1] : word;
        }
        return space < 0 ? MemcachedCommands.IsPrefix(word) : MemcachedCommands.Find(word) is not null;
    }

    internal static ReadOnlySpan<byte> FirstWord(ReadOnlySpan<byte> line)
    {
        int space = line.IndexOf((byte)' ');
        return space < 0 ? line : line[..space];
    }

    /// <summary>Whether <paramref name="data"/> starts a known command's line (a resync point for commands).</summary>
    internal static bool IsCommandStart(ReadOnlySpan<byte> data)
    {
        int end = data.IndexOfAny((byte)' ', (byte)'\r');
        return end > 0 && MemcachedCommands.Find(data[..end]) is not null;
    }

    /// <summary>Whether <paramref name="data"/> starts a reply line (a resync point for replies).</summary>
    internal static bool IsReplyStart(ReadOnlySpan<byte> data)
    {
        int end = data.IndexOfAny((byte)' ', (byte)'\r');
        return end > 0 && end + 1 < data.Length && MemcachedReplies.Find(data[..end]) != ReplyCode.Unknown
            && (data[end] == ' ' || data[end + 1] == '\n');
    }
}
