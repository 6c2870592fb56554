using System.Buffers.Text;
using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;

namespace Tattle.Protocols.Memcached;

/// <summary>
/// Reads both directions of a memcached connection (text and meta protocols, see README.md) and pairs commands with
/// replies in order. Quiet meta commands (<c>q</c>) may get no reply: a reply that cannot be theirs, a reply naming
/// a later command (its <c>O</c> opaque or <c>k</c> key), or <c>mn</c>'s MN says what their silence meant.
/// </summary>
public sealed class MemcachedParser(IMessageSink sink) : IProtocolParser
{
    /// <summary>Commands awaiting replies beyond this are reported unanswered: a server never lags that far.</summary>
    private const int MaxPending = 100_000;

    /// <summary>A reply line longer than this is not memcached's (VALUE lines hold a key of 250 bytes at most).</summary>
    private const int MaxReplyLine = 8192;

    private const int MaxError = 256;

    private readonly Queue<Pending> _pending = new();

    /// <summary>Bytes of a storage command's data block (with its CRLF) still to skip.</summary>
    private long _requestSkip;

    /// <summary>Bytes of a VALUE or VA data block (with its CRLF) still to skip.</summary>
    private long _replySkip;

    /// <summary>A VA line was read: its reply is complete once its data block is skipped.</summary>
    private bool _metaValue;
    private long? _metaFlags;
    private long _metaBytes;

    /// <summary>Inside a multi-line reply: VALUE lines before END, or a stats reply's lines.</summary>
    private bool _multi;
    private bool _stats;
    private int _hits;
    private long _valueBytes;
    private long? _firstFlags;

    private bool _binary;

    /// <summary>The sink is done with each message when it returns: the parser refills <see cref="_exchange"/>.</summary>
    private readonly bool _reuse = sink.ConsumesAtOnce;

    private MemcachedExchange? _exchange;

    public string Name => MemcachedProtocol.Name;

    private struct Pending
    {
        public string Command;
        public CommandKind Kind;
        public string? Key;
        public int Keys;
        public long? Flags;
        public long? Bytes;
        public bool Quiet;
        public string? Opaque;
        public long StartNs;
    }

    /// <summary>A reply as the exchange takes it.</summary>
    private readonly record struct Reply(ReplyCode Code, string Result, string? Error = null, long? Flags = null, long? Bytes = null);

    public ParseResult Parse(MessageKind kind, ReadOnlySpan<byte> data, in StreamContext context)
    {
        if (data.IsEmpty)
        {
            return ParseResult.NeedMoreData();
        }
        if (_binary || (data[0] is 0x80 or 0x81 && _requestSkip == 0 && _replySkip == 0))
        {
            return Binary(context);
        }
        return kind == MessageKind.Request ? ParseCommand(data, context) : ParseReply(data, context.NowNs);
    }

    /// <summary>The deprecated binary protocol: marked with one record, not read.</summary>
    private ParseResult Binary(in StreamContext context)
    {
        if (!_binary)
        {
            _binary = true;
            sink.OnMessage(Exchange().Fill(context.StartNs, context.NowNs, "binary", null, 0, null, null, null, null, null, null, noReply: true, quiet: false));
        }
        return ParseResult.EndOfStream(0);
    }

    private ParseResult ParseCommand(ReadOnlySpan<byte> data, in StreamContext context)
    {
        if (_requestSkip > 0)
        {
            int skipped = Skip(ref _requestSkip, data);
            return _requestSkip > 0 ? ParseResult.NeedMoreData(skipped) : ParseResult.Success(skipped);
        }
        int eol = data.IndexOf("\r\n"u8);
        if (eol < 0)
        {
            return data.Length > MemcachedProtocol.MaxLine || !IsWordByte(data[0]) ? ParseResult.Invalid : ParseResult.NeedMoreData();
        }
        if (eol == 0)
        {
            return ParseResult.Ignored(2);
        }
        var line = data[..eol];
        var word = MemcachedProtocol.FirstWord(line);
        var command = MemcachedCommands.Find(word);
        if (command is null && !IsWord(word))
        {
            return ParseResult.Invalid;
        }
        var parsed = default(CommandLine);
        bool valid = command is not null && MemcachedCommands.Describe(command, line, out parsed);
        var pending = new Pending
        {
            // Keys, opaques and unknown words recur on a connection: shared strings, not one per command.
            Command = command?.Name ?? HttpStrings.Recent(word[..Math.Min(word.Length, 32)]),
            // A line memcached cannot read is answered by one error line.
            Kind = valid ? command!.Kind : CommandKind.Other,
            Key = parsed.Keys > 0 ? HttpStrings.RecentUtf8(line.Slice(parsed.KeyStart, parsed.KeyLength)) : null,
            Keys = parsed.Keys,
            Flags = parsed.Flags,
            Bytes = parsed.Bytes,
            Quiet = parsed.Quiet,
            Opaque = parsed.OpaqueLength > 0 ? HttpStrings.RecentUtf8(line.Slice(parsed.OpaqueStart, parsed.OpaqueLength)) : null,
            StartNs = context.StartNs,
        };
        if (pending.Kind == CommandKind.Quit || parsed.NoReply)
        {
            Report(pending, null, context.StartNs, noReply: true);
        }
        else
        {
            if (_pending.Count >= MaxPending)
            {
                Report(_pending.Dequeue(), null, context.StartNs);
            }
            _pending.Enqueue(pending);
        }
        int consumed = eol + 2;
        if (parsed.Bytes is { } block)
        {
            _requestSkip = block + 2;
            consumed += Skip(ref _requestSkip, data[consumed..]);
            if (_requestSkip > 0)
            {
                return ParseResult.NeedMoreData(consumed);
            }
        }
        return ParseResult.Success(consumed);
    }

    private ParseResult ParseReply(ReadOnlySpan<byte> data, long nowNs)
    {
        if (_replySkip > 0)
        {
            int skipped = Skip(ref _replySkip, data);
            if (_replySkip > 0)
            {
                return ParseResult.NeedMoreData(skipped);
            }
            return _metaValue && AnswerMetaValue(nowNs) ? ParseResult.Success(skipped) : ParseResult.Ignored(skipped);
        }
        int eol = data.IndexOf("\r\n"u8);
        if (eol < 0)
        {
            return data.Length > MaxReplyLine || !IsReplyByte(data[0]) ? InvalidReply(nowNs) : ParseResult.NeedMoreData();
        }
        var line = data[..eol];
        int length = eol + 2;
        var code = MemcachedReplies.Find(MemcachedProtocol.FirstWord(line));
        if (code == ReplyCode.Unknown && IsNumber(line))
        {
            code = ReplyCode.Number;
        }
        if (_multi && !_stats && code is not (ReplyCode.Value or ReplyCode.End))
        {
            return InvalidReply(nowNs);
        }
        if (code is ReplyCode.Unknown or ReplyCode.Stat && !_multi)
        {
            if (code == ReplyCode.Unknown && !HeadIs(CommandKind.Stats))
            {
                return InvalidReply(nowNs);
            }
            Align(ReplyCode.Stat, default, default, nowNs);
            (_multi, _stats) = (true, true);
        }
        if (_stats && code != ReplyCode.End)
        {
            return ParseResult.Ignored(length);
        }
        var words = new Words(line);
        words.Next(out _, out _);
        switch (code)
        {
            case ReplyCode.Value:
                if (!words.Next(out _, out _) || !words.Number(out long flags) || !words.Number(out long bytes) || flags < 0 || bytes is < 0 or > MemcachedCommands.MaxBlock)
                {
                    return InvalidReply(nowNs);
                }
                if (!_multi)
                {
                    Align(code, default, default, nowNs);
                    _multi = true;
                }
                _hits++;
                _valueBytes += bytes;
                _firstFlags ??= flags;
                _replySkip = bytes + 2;
                length += Skip(ref _replySkip, data[length..]);
                return _replySkip > 0 ? ParseResult.NeedMoreData(length) : ParseResult.Ignored(length);
            case ReplyCode.End:
                if (!_multi)
                {
                    Align(code, default, default, nowNs);
                }
                bool answered = Answer(new Reply(code, "END", Flags: _firstFlags, Bytes: _valueBytes), nowNs);
                (_multi, _stats, _hits, _valueBytes, _firstFlags) = (false, false, 0, 0, null);
                return answered ? ParseResult.Success(length) : ParseResult.Ignored(length);
            case ReplyCode.VA:
                if (!words.Number(out long size) || size is < 0 or > MemcachedCommands.MaxBlock)
                {
                    return InvalidReply(nowNs);
                }
                _metaFlags = AlignMeta(code, line, ref words, nowNs);
                (_metaValue, _metaBytes, _replySkip) = (true, size, size + 2);
                length += Skip(ref _replySkip, data[length..]);
                if (_replySkip > 0)
                {
                    return ParseResult.NeedMoreData(length);
                }
                return AnswerMetaValue(nowNs) ? ParseResult.Success(length) : ParseResult.Ignored(length);
            case ReplyCode.HD or ReplyCode.EN or ReplyCode.NF or ReplyCode.NS or ReplyCode.EX or ReplyCode.MN:
                long? metaFlags = AlignMeta(code, line, ref words, nowNs);
                return Answered(Answer(new Reply(code, MemcachedReplies.Name(code), Flags: metaFlags), nowNs), length);
            case ReplyCode.ME:
                words.Next(out int keyStart, out int keyLength);
                Align(code, line.Slice(keyStart, keyLength), default, nowNs);
                return Answered(Answer(new Reply(code, "ME"), nowNs), length);
            case ReplyCode.Number:
                Align(code, default, default, nowNs);
                return Answered(Answer(new Reply(code, HttpStrings.Recent(line[..Math.Min(line.Length, 20)])), nowNs), length);
            default:
                Align(code, default, default, nowNs);
                string? error = null;
                if (MemcachedReplies.IsError(code) && line.IndexOf((byte)' ') is > 0 and int space)
                {
                    var text = line[(space + 1)..];
                    error = Encoding.ASCII.GetString(text[..Math.Min(text.Length, MaxError)]);
                }
                return Answered(Answer(new Reply(code, MemcachedReplies.Name(code), error), nowNs), length);
        }
    }

    private static ParseResult Answered(bool answered, int length) =>
        answered ? ParseResult.Success(length) : ParseResult.Ignored(length);

    /// <summary>A reply line that cannot be read: which reply answers which command is no longer known.</summary>
    private ParseResult InvalidReply(long nowNs)
    {
        ResetReply();
        FlushPending(nowNs);
        return ParseResult.Invalid;
    }

    private void ResetReply()
    {
        (_multi, _stats, _hits, _valueBytes, _firstFlags) = (false, false, 0, 0, null);
        (_metaValue, _metaFlags, _metaBytes, _replySkip) = (false, null, 0, 0);
    }

    private bool AnswerMetaValue(long nowNs)
    {
        _metaValue = false;
        return Answer(new Reply(ReplyCode.VA, "VA", Flags: _metaFlags, Bytes: _metaBytes), nowNs);
    }

    /// <summary>Aligns the queue on a meta reply by its <c>k</c> and <c>O</c> flags; returns its <c>f</c> flags.</summary>
    private long? AlignMeta(ReplyCode code, ReadOnlySpan<byte> line, ref Words words, long nowNs)
    {
        ReadOnlySpan<byte> key = default, opaque = default;
        long? flags = null;
        while (words.Next(out int start, out int length))
        {
            var token = line.Slice(start + 1, length - 1);
            switch (line[start])
            {
                case (byte)'k':
                    key = token;
                    break;
                case (byte)'O':
                    opaque = token;
                    break;
                case (byte)'f' when Utf8Parser.TryParse(token, out long f, out int used) && used == token.Length:
                    flags = f;
                    break;
            }
        }
        Align(code, key, opaque, nowNs);
        return flags;
    }

    /// <summary>
    /// Before a reply is given to the oldest command: the quiet commands it shows were silent are reported with
    /// what their silence means. A reply naming a later command (opaque, else key) shows every command before it was
    /// silent; otherwise a quiet command was silent when the reply is one it leaves out or can never get.
    /// </summary>
    private void Align(ReplyCode code, ReadOnlySpan<byte> key, ReadOnlySpan<byte> opaque, long nowNs)
    {
        if (!key.IsEmpty || !opaque.IsEmpty)
        {
            int index = 0;
            foreach (var p in _pending)
            {
                if ((opaque.IsEmpty ? Same(p.Key, key) : Same(p.Opaque, opaque)) && MemcachedReplies.CanAnswer(p.Kind, code)
                    && !(p.Quiet && MemcachedReplies.IsSuppressed(p.Kind, code)))
                {
                    for (int i = 0; i < index; i++)
                    {
                        Silent(_pending.Dequeue(), nowNs);
                    }
                    return;
                }
                index++;
            }
        }
        while (_pending.TryPeek(out var head) && head.Quiet
            && (MemcachedReplies.IsSuppressed(head.Kind, code) || !MemcachedReplies.CanAnswer(head.Kind, code)))
        {
            Silent(_pending.Dequeue(), nowNs);
        }
    }

    private static bool Same(string? text, ReadOnlySpan<byte> bytes)
    {
        if (text is null || text.Length != bytes.Length)
        {
            return false;
        }
        for (int i = 0; i < bytes.Length; i++)
        {
            if (text[i] != bytes[i])
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A command a later reply overtook: a quiet one's silence is its outcome; another's reply was lost.</summary>
    private void Silent(in Pending p, long nowNs)
    {
        if (p.Quiet && MemcachedReplies.Suppressed(p.Kind) is var code and not ReplyCode.Unknown)
        {
            Report(p, new Reply(code, MemcachedReplies.Name(code)), nowNs, quiet: true);
        }
        else
        {
            Report(p, null, p.StartNs);
        }
    }

    private bool HeadIs(CommandKind kind) => _pending.TryPeek(out var head) && head.Kind == kind;

    private bool Answer(in Reply reply, long nowNs)
    {
        if (!_pending.TryDequeue(out var head))
        {
            // The command was sent before tracing began.
            return false;
        }
        Report(head, reply, nowNs);
        return true;
    }

    private void Report(in Pending p, Reply? reply, long endNs, bool noReply = false, bool quiet = false)
    {
        int? hits = null, misses = null;
        long? flags = p.Flags, bytes = p.Bytes;
        if (reply is { } r && !MemcachedReplies.IsError(r.Code))
        {
            if (p.Kind is CommandKind.Get or CommandKind.GetAndTouch && r.Code == ReplyCode.End)
            {
                hits = Math.Min(_hits, p.Keys);
                misses = p.Keys - hits;
                (flags, bytes) = (r.Flags, r.Bytes);
            }
            else if (p.Kind == CommandKind.MetaGet)
            {
                hits = r.Code is ReplyCode.VA or ReplyCode.HD ? 1 : 0;
                misses = 1 - hits;
                (flags, bytes) = (r.Flags, r.Bytes);
            }
            else if (p.Kind == CommandKind.MetaArith && r.Code == ReplyCode.VA)
            {
                bytes = r.Bytes;
            }
        }
        sink.OnMessage(Exchange().Fill(p.StartNs, endNs, p.Command, p.Key, p.Keys, hits, misses, flags, bytes, reply?.Result, reply?.Error, noReply, quiet));
    }

    private MemcachedExchange Exchange() => Refillable.Next(_reuse, ref _exchange, NewExchange);

    // Fill sets the times as every other field.
    private static readonly Func<MemcachedExchange> NewExchange = static () => new() { StartNs = 0, EndNs = 0 };

    private static int Skip(ref long remaining, ReadOnlySpan<byte> data)
    {
        int n = (int)Math.Min(remaining, data.Length);
        remaining -= n;
        return n;
    }

    private static bool IsWordByte(byte b) => b is >= (byte)'a' and <= (byte)'z';

    /// <summary>A lower-case command word memcached may know and Tattle does not (lru_crawler, slabs, shutdown).</summary>
    private static bool IsWord(ReadOnlySpan<byte> word)
    {
        if (word.IsEmpty || word.Length > 32 || !IsWordByte(word[0]))
        {
            return false;
        }
        foreach (byte b in word)
        {
            if (!IsWordByte(b) && b != '_' && !char.IsAsciiDigit((char)b))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsReplyByte(byte b) => b is >= (byte)'A' and <= (byte)'Z' || char.IsAsciiDigit((char)b);

    private static bool IsNumber(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty || line.Length > 20)
        {
            return false;
        }
        foreach (byte b in line)
        {
            if (!char.IsAsciiDigit((char)b))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The start of a line holding a known command (requests) or reply word (replies).</summary>
    public int FindFrameBoundary(MessageKind kind, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            if (i > 0 && data[i - 1] != '\n')
            {
                continue;
            }
            if (kind == MessageKind.Request ? MemcachedProtocol.IsCommandStart(data[i..]) : MemcachedProtocol.IsReplyStart(data[i..]))
            {
                return i;
            }
        }
        return -1;
    }

    public bool OnGap(MessageKind kind, long bytes, long nowNs)
    {
        ref long skip = ref kind == MessageKind.Request ? ref _requestSkip : ref _replySkip;
        if (skip >= bytes && bytes > 0)
        {
            // The lost bytes fall inside a data block being skipped anyway.
            skip -= bytes;
            if (skip == 0 && kind == MessageKind.Response && _metaValue)
            {
                AnswerMetaValue(nowNs);
            }
            return true;
        }
        if (kind == MessageKind.Request)
        {
            _requestSkip = 0;
        }
        else
        {
            ResetReply();
        }
        // Commands or replies were lost: which reply answers which command is no longer known.
        FlushPending(nowNs);
        return false;
    }

    public void OnClose(long nowNs) => FlushPending(nowNs);

    /// <summary>Commands still waiting are reported without a reply (quiet ones: no reply was owed).</summary>
    private void FlushPending(long nowNs)
    {
        _ = nowNs;
        while (_pending.TryDequeue(out var p))
        {
            Report(p, null, p.StartNs, noReply: p.Quiet);
        }
    }
}
