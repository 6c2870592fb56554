using System.Buffers.Text;
using Tattle.Protocols.Http1;

namespace Tattle.Protocols.Redis;

/// <summary>The kinds of RESP values (RESP2 and RESP3) as records name them.</summary>
public enum RespType : byte
{
    None,
    Status,
    Error,
    Integer,
    Bulk,
    Array,
    Null,
    Map,
    Set,
    Double,
    Bool,
    Verbatim,
    BigNumber,
    Push,
    BulkError,
}

/// <summary>What <see cref="RespReader.Read"/> made of its input.</summary>
internal enum RespStep : byte
{
    /// <summary>A whole top-level value ends at the returned offset.</summary>
    Complete,

    /// <summary>The input ends inside a value; bytes up to the returned offset are used up.</summary>
    NeedMoreData,

    /// <summary>Not RESP; the reader is reset.</summary>
    Invalid,

    /// <summary>An empty line where an inline command could start, used up and carrying nothing.</summary>
    Empty,
}

/// <summary>
/// Reads one direction's RESP values incrementally: aggregates are tracked with a bounded stack of element counts
/// and bulk payloads are skipped by count, so a 100 MB value never sits in memory. Only what a record shows is kept:
/// the top-level value's type, size and short text, and the first elements' strings (a command's name, subcommand
/// and key; a push's kind and channel).
/// </summary>
/// <param name="commands">The direction carries commands: a first element naming a known command is not allocated.</param>
internal sealed class RespReader(bool commands)
{
    /// <summary>Nesting deeper than this is not something Redis sends (its own limit for replies is far lower).</summary>
    public const int MaxDepth = 32;

    /// <summary>proto-max-bulk-len's default: a longer bulk is not Redis.</summary>
    public const long MaxBulk = 512L * 1024 * 1024;

    /// <summary>Element counts above this are not plausible (client-query-buffer-limit is 1 GB).</summary>
    public const long MaxElements = 1L << 28;

    /// <summary>Simple strings, errors and inline commands longer than this are not Redis (inline is 64 KiB).</summary>
    public const int MaxLine = 64 * 1024;

    /// <summary>Elements whose text is kept: command, subcommand or key, key.</summary>
    public const int Captures = 3;

    /// <summary>Bulk strings longer than this are not kept as text (the key of a record, a push's channel).</summary>
    public const int MaxCapture = 512;

    private const int MaxStatus = 64;
    private const int MaxError = 256;

    private readonly long[] _remaining = new long[MaxDepth];
    private readonly bool[] _attribute = new bool[MaxDepth];
    private readonly string?[] _captured = new string?[Captures];
    private int _depth;
    private long _skip;
    private bool _topSeen;

    public bool InFrame { get; private set; }

    public RespType Type { get; private set; }

    /// <summary>Bytes of a bulk, elements of an aggregate (pairs of a map), or the words of an inline command.</summary>
    public long Size { get; private set; }

    public long? Integer { get; private set; }

    /// <summary>A status, double, boolean or big number as text (64 chars at most), or an error (256).</summary>
    public string? Text { get; private set; }

    /// <summary>The frame was an inline command (words separated by spaces) rather than a RESP array.</summary>
    public bool Inline { get; private set; }

    /// <summary>The text of the top-level aggregate's first elements, when they were short strings.</summary>
    public ReadOnlySpan<string?> Captured => _captured;

    public void Reset()
    {
        _depth = 0;
        _skip = 0;
        _topSeen = false;
        InFrame = false;
        Type = RespType.None;
        Size = 0;
        Integer = null;
        Text = null;
        Inline = false;
        Array.Clear(_captured);
    }

    /// <summary>Bulk payload bytes still to skip: a gap inside them leaves the reader in step.</summary>
    public bool AbsorbGap(long bytes)
    {
        if (_skip <= 0 || bytes > _skip - 2)
        {
            return false;
        }
        _skip -= bytes;
        return true;
    }

    /// <summary>Reads from the front of <paramref name="data"/> until one top-level value is complete.</summary>
    public RespStep Read(ReadOnlySpan<byte> data, bool inlineAllowed, out int consumed)
    {
        int p = 0;
        consumed = 0;
        if (!InFrame)
        {
            Reset();
            InFrame = true;
        }
        while (true)
        {
            if (_skip > 0)
            {
                int take = (int)Math.Min(_skip, data.Length - p);
                p += take;
                _skip -= take;
                if (_skip > 0)
                {
                    consumed = p;
                    return RespStep.NeedMoreData;
                }
                if (ValueDone())
                {
                    return Finish(p, out consumed);
                }
                continue;
            }
            if (p >= data.Length)
            {
                consumed = p;
                return RespStep.NeedMoreData;
            }
            var rest = data[p..];
            int eol = rest.IndexOf("\r\n"u8);
            if (eol < 0)
            {
                consumed = p;
                return rest.Length > MaxLine + 2 ? Fail(out consumed) : RespStep.NeedMoreData;
            }
            if (eol > MaxLine)
            {
                return Fail(out consumed);
            }
            var line = rest[..eol];
            if (line.IsEmpty)
            {
                if (_depth == 0 && !_topSeen && inlineAllowed)
                {
                    // An empty inline command: redis-server skips it.
                    InFrame = false;
                    consumed = p + 2;
                    return RespStep.Empty;
                }
                return Fail(out consumed);
            }
            byte marker = line[0];
            var body = line[1..];
            int next = p + eol + 2;
            bool top = _depth == 0 && !_topSeen;
            switch (marker)
            {
                case (byte)'+':
                    Simple(RespType.Status, body, MaxStatus);
                    break;
                case (byte)'-':
                    Simple(RespType.Error, body, MaxError);
                    break;
                case (byte)':':
                    if (!Utf8Parser.TryParse(body, out long n, out int used) || used != body.Length)
                    {
                        return Fail(out consumed);
                    }
                    if (top)
                    {
                        Top(RespType.Integer, 0);
                        Integer = n;
                    }
                    break;
                case (byte)',':
                    Simple(RespType.Double, body, MaxStatus);
                    break;
                case (byte)'(':
                    Simple(RespType.BigNumber, body, MaxStatus);
                    break;
                case (byte)'#':
                    if (body.Length != 1 || (body[0] != 't' && body[0] != 'f'))
                    {
                        return Fail(out consumed);
                    }
                    Simple(RespType.Bool, body[0] == 't' ? "true"u8 : "false"u8, MaxStatus);
                    break;
                case (byte)'_':
                    if (!body.IsEmpty)
                    {
                        return Fail(out consumed);
                    }
                    Top(RespType.Null, 0);
                    break;
                case (byte)'$':
                case (byte)'=':
                case (byte)'!':
                    {
                        if (!TryLength(body, out long len) || len < -1 || len > MaxBulk || (len == -1 && marker != '$'))
                        {
                            return Fail(out consumed);
                        }
                        if (len == -1)
                        {
                            Top(RespType.Null, 0);
                            break;
                        }
                        var type = marker switch { (byte)'$' => RespType.Bulk, (byte)'=' => RespType.Verbatim, _ => RespType.BulkError };
                        int index = _depth == 1 && !_attribute[0] ? (int)(Size - _remaining[0]) : -1;
                        bool keep = (index is >= 0 and < Captures && len <= MaxCapture) || (top && type == RespType.BulkError && len <= MaxError);
                        if (keep)
                        {
                            if (rest.Length - eol - 2 < len + 2)
                            {
                                // The whole short string is needed to keep it: leave its header for the next call.
                                consumed = p;
                                return RespStep.NeedMoreData;
                            }
                            var payload = rest.Slice(eol + 2, (int)len);
                            if (rest[eol + 2 + (int)len] != '\r' || rest[eol + 3 + (int)len] != '\n')
                            {
                                return Fail(out consumed);
                            }
                            if (top)
                            {
                                Top(type, len);
                                Text = HttpStrings.RecentUtf8(payload);
                            }
                            else
                            {
                                _captured[index] = (commands && index == 0 ? RedisCommands.KnownName(payload) : null) ?? HttpStrings.RecentUtf8(payload);
                            }
                            next += (int)len + 2;
                            break;
                        }
                        if (top)
                        {
                            Top(type, len);
                        }
                        _skip = len + 2;
                        p = next;
                        continue;
                    }
                case (byte)'*':
                case (byte)'%':
                case (byte)'~':
                case (byte)'>':
                case (byte)'|':
                    {
                        if (!TryLength(body, out long count) || count < -1 || count > MaxElements || (count == -1 && marker != '*'))
                        {
                            return Fail(out consumed);
                        }
                        if (count == -1)
                        {
                            Top(RespType.Null, 0);
                            break;
                        }
                        long elements = marker is (byte)'%' or (byte)'|' ? count * 2 : count;
                        bool attribute = marker == '|';
                        if (top && !attribute)
                        {
                            Top(marker switch { (byte)'*' => RespType.Array, (byte)'%' => RespType.Map, (byte)'~' => RespType.Set, _ => RespType.Push }, count);
                            Size = count;
                        }
                        if (elements == 0)
                        {
                            if (attribute)
                            {
                                p = next;
                                continue;
                            }
                            break;
                        }
                        if (_depth == MaxDepth)
                        {
                            return Fail(out consumed);
                        }
                        _remaining[_depth] = elements;
                        _attribute[_depth] = attribute || (_depth > 0 && _attribute[_depth - 1]);
                        _depth++;
                        p = next;
                        continue;
                    }
                default:
                    if (top && inlineAllowed && IsInlineStart(marker))
                    {
                        ReadInline(line);
                        return Finish(next, out consumed);
                    }
                    return Fail(out consumed);
            }
            p = next;
            if (ValueDone())
            {
                return Finish(p, out consumed);
            }
        }
    }

    /// <summary>An inline command starts with a letter (PING, SET k v).</summary>
    public static bool IsInlineStart(byte b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a';

    private void ReadInline(ReadOnlySpan<byte> line)
    {
        Inline = true;
        Top(RespType.Array, 0);
        long words = 0;
        foreach (var range in line.Split((byte)' '))
        {
            var word = line[range];
            if (word.IsEmpty)
            {
                continue;
            }
            if (words < Captures && word.Length <= MaxCapture)
            {
                _captured[words] = HttpStrings.RecentUtf8(word);
            }
            words++;
        }
        Size = words;
    }

    private void Simple(RespType type, ReadOnlySpan<byte> body, int max)
    {
        int index = _depth == 1 && !_attribute[0] ? (int)(Size - _remaining[0]) : -1;
        if (_depth == 0 && !_topSeen)
        {
            Top(type, 0);
            Text = HttpStrings.RecentUtf8(body[..Math.Min(body.Length, max)]);
        }
        else if (index is >= 0 and < Captures && body.Length <= MaxCapture)
        {
            _captured[index] = HttpStrings.RecentUtf8(body);
        }
    }

    private void Top(RespType type, long size)
    {
        if (_depth != 0 || _topSeen)
        {
            return;
        }
        _topSeen = true;
        Type = type;
        Size = size;
    }

    /// <summary>One value ended: counts it against the aggregates open around it. True when the top-level value is done.</summary>
    private bool ValueDone()
    {
        while (_depth > 0)
        {
            if (--_remaining[_depth - 1] > 0)
            {
                return false;
            }
            _depth--;
            if (_attribute[_depth] && (_depth == 0 || !_attribute[_depth - 1]))
            {
                // An attribute describes the value after it, which is still to come.
                return false;
            }
        }
        return _topSeen;
    }

    private RespStep Finish(int p, out int consumed)
    {
        consumed = p;
        InFrame = false;
        return RespStep.Complete;
    }

    private RespStep Fail(out int consumed)
    {
        consumed = 0;
        Reset();
        return RespStep.Invalid;
    }

    private static bool TryLength(ReadOnlySpan<byte> body, out long value) =>
        Utf8Parser.TryParse(body, out value, out int used) && used == body.Length && body.Length > 0;
}
