using System.Buffers.Text;
using Tattle.Protocols.Common;

namespace Tattle.Protocols.Redis;

/// <summary>Redis's protocol, RESP2 and RESP3: how to recognise it and how to make a parser (see README.md).</summary>
public static class RedisProtocol
{
    public const string Name = "redis";

    /// <summary>redis-server's default port: a hint for replies and inline commands only.</summary>
    public const int Port = 6379;

    public static ProtocolInfo Info { get; } = new(Name, Probe, (options, sink) => new RedisParser(sink));

    /// <summary>
    /// A client's RESP array of bulk strings whose first is a command name (<c>*N\r\n$M\r\nNAME</c>) means commands
    /// on any port; an inline command or a reply only with port 6379 at an end, as they are weak signatures.
    /// </summary>
    public static Detection Probe(ReadOnlySpan<byte> data, bool datagram, int localPort, int remotePort)
    {
        if (datagram || data.IsEmpty)
        {
            return Detection.No;
        }
        bool port = localPort == Port || remotePort == Port;
        if (data[0] == '*')
        {
            var command = ProbeCommand(data);
            if (command != Detection.No || !port)
            {
                return command;
            }
        }
        if (!port)
        {
            return Detection.No;
        }
        int eol = data.IndexOf("\r\n"u8);
        if (eol < 0)
        {
            return data.Length > 256 ? Detection.No : Detection.NeedMoreData;
        }
        if (RespReader.IsInlineStart(data[0]))
        {
            return Detection.Request;
        }
        return IsReplyStart(data) ? Detection.Response : Detection.No;
    }

    /// <summary><c>*N\r\n$M\r\n</c> then M letters: the start of a command; a prefix of it needs more data.</summary>
    private static Detection ProbeCommand(ReadOnlySpan<byte> data)
    {
        int p = 1;
        var count = Number(data, ref p, RespReader.MaxElements);
        if (count != Detection.Request)
        {
            return count;
        }
        if (p >= data.Length)
        {
            return Detection.NeedMoreData;
        }
        if (data[p] != '$')
        {
            return Detection.No;
        }
        p++;
        int start = p;
        var length = Number(data, ref p, 64);
        if (length != Detection.Request)
        {
            return length;
        }
        Utf8Parser.TryParse(data[start..], out int len, out _);
        for (int i = 0; i < len; i++, p++)
        {
            if (p >= data.Length)
            {
                return Detection.NeedMoreData;
            }
            if (!RespReader.IsInlineStart(data[p]) && data[p] != '_' && data[p] != '.' && data[p] != '|')
            {
                return Detection.No;
            }
        }
        return Detection.Request;
    }

    /// <summary>Digits up to <paramref name="max"/> then CRLF, from <paramref name="p"/>: Request means "yes".</summary>
    private static Detection Number(ReadOnlySpan<byte> data, ref int p, long max)
    {
        int start = p;
        long value = 0;
        while (p < data.Length && char.IsAsciiDigit((char)data[p]))
        {
            value = (value * 10) + (data[p] - '0');
            if (value > max || p - start > 10)
            {
                return Detection.No;
            }
            p++;
        }
        if (p + 2 > data.Length)
        {
            return data.Length - p <= 1 && (p == data.Length || data[p] == '\r') ? Detection.NeedMoreData : Detection.No;
        }
        if (p == start || value == 0 || data[p] != '\r' || data[p + 1] != '\n')
        {
            return Detection.No;
        }
        p += 2;
        return Detection.Request;
    }

    /// <summary>Whether <paramref name="data"/> starts a command: <c>*N\r\n$</c> with N at least 1.</summary>
    internal static bool IsCommandStart(ReadOnlySpan<byte> data)
    {
        int p = 1;
        return data.Length > 1 && data[0] == '*' && Number(data, ref p, RespReader.MaxElements) == Detection.Request
            && p < data.Length && data[p] == '$';
    }

    /// <summary>Whether <paramref name="data"/> starts with a RESP type byte and a line end follows soon.</summary>
    internal static bool IsReplyStart(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || "+-:$*_,#!=(%~>|"u8.IndexOf(data[0]) < 0)
        {
            return false;
        }
        int eol = data.IndexOf("\r\n"u8);
        return eol > 0 || (eol < 0 && data.Length < 256 && data[0] != '_');
    }
}
