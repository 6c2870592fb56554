using Tattle.Protocols.Common;

namespace Tattle.Protocols.Redis;

/// <summary>
/// Reads both directions of a Redis connection (RESP2 and RESP3, see README.md) and pairs commands with replies in
/// order: Redis answers every command in the order it was sent, pipelined or inside MULTI (where the reply is QUEUED).
/// </summary>
public sealed class RedisParser(IMessageSink sink) : IProtocolParser
{
    /// <summary>Commands awaiting replies beyond this are reported unanswered: a server never lags that far.</summary>
    private const int MaxPending = 100_000;

    private readonly RespReader _requests = new(commands: true);
    private readonly RespReader _replies = new(commands: false);
    private readonly Queue<Pending> _pending = new();
    private long _requestStartNs;
    private long _replyStartNs;

    /// <summary>A subscribe was sent: RESP2 arrays of kind "message" are then pushes, not replies.</summary>
    private bool _subscribed;

    public string Name => RedisProtocol.Name;

    /// <summary>A command waiting for its reply; a subscription waits for one confirmation per channel.</summary>
    private struct Pending
    {
        public string Command;
        public string? Key;
        public long Args;
        public long StartNs;
        public long Confirmations;
        public bool Answered;
    }

    public ParseResult Parse(MessageKind kind, ReadOnlySpan<byte> data, in StreamContext context)
    {
        var reader = kind == MessageKind.Request ? _requests : _replies;
        if (!reader.InFrame)
        {
            if (kind == MessageKind.Request)
            {
                _requestStartNs = context.StartNs;
            }
            else
            {
                _replyStartNs = context.StartNs;
            }
        }
        var step = reader.Read(data, kind == MessageKind.Request, out int consumed);
        switch (step)
        {
            case RespStep.NeedMoreData:
                return ParseResult.NeedMoreData(consumed);
            case RespStep.Invalid:
                return ParseResult.Invalid;
            case RespStep.Empty:
                return ParseResult.Ignored(consumed);
        }
        bool reported = kind == MessageKind.Request ? OnCommand(reader) : OnReply(reader, context.NowNs);
        return reported || kind == MessageKind.Request ? ParseResult.Success(consumed) : ParseResult.Ignored(consumed);
    }

    private bool OnCommand(RespReader reader)
    {
        if (reader.Type != RespType.Array || reader.Size == 0)
        {
            return false;
        }
        var (command, key) = RedisCommands.Describe(reader.Captured, reader.Size);
        if (_pending.Count >= MaxPending)
        {
            Report(_pending.Dequeue(), null, null, _requestStartNs);
        }
        bool subscription = RedisCommands.IsSubscription(command);
        _subscribed |= subscription && !command.Contains("UNSUB", StringComparison.Ordinal);
        _pending.Enqueue(new Pending
        {
            Command = command,
            Key = key,
            Args = reader.Size - 1,
            StartNs = _requestStartNs,
            Confirmations = subscription ? Math.Max(1, reader.Size - 1) : 1,
        });
        return true;
    }

    private bool OnReply(RespReader reader, long nowNs)
    {
        var reply = new RedisReply(
            reader.Type,
            reader.Type is RespType.Bulk or RespType.Verbatim or RespType.BulkError or RespType.Array or RespType.Map or RespType.Set or RespType.Push ? reader.Size : null,
            reader.Integer,
            reader.Type is RespType.Error or RespType.BulkError ? null : reader.Text);
        string? error = reader.Type is RespType.Error or RespType.BulkError ? reader.Text ?? "" : null;
        string? kind = reader.Type is RespType.Array or RespType.Push ? reader.Captured[0] : null;

        if (kind is not null && RedisCommands.IsSubscription(kind.ToUpperInvariant()) && (reader.Type == RespType.Push || _subscribed || HeadIsSubscription()))
        {
            return OnConfirmation(kind.ToUpperInvariant(), reader, reply, nowNs);
        }
        if (reader.Type == RespType.Push || (_subscribed && RedisCommands.IsMessageKind(kind)))
        {
            ReportPush(reader, nowNs);
            return true;
        }
        DropAnswered();
        if (!_pending.TryDequeue(out var head))
        {
            // The command was sent before tracing began.
            return false;
        }
        Report(head, reply, error, nowNs);
        return true;
    }

    /// <summary>
    /// A (un)subscription's confirmation: the first answers the command, the others (one per further channel) are
    /// used up silently; one nothing waits for (UNSUBSCRIBE from every channel) is reported as a push.
    /// </summary>
    private bool OnConfirmation(string kind, RespReader reader, RedisReply reply, long nowNs)
    {
        DropAnsweredUnless(kind);
        if (!_pending.TryPeek(out var head) || head.Command != kind)
        {
            ReportPush(reader, nowNs);
            return true;
        }
        _pending.Dequeue();
        bool first = !head.Answered;
        if (first)
        {
            Report(head, reply, null, nowNs);
        }
        if (--head.Confirmations > 0)
        {
            head.Answered = true;
            Requeue(head);
        }
        return first;
    }

    /// <summary>Puts a subscription still awaiting confirmations back at the head of the queue.</summary>
    private void Requeue(Pending head)
    {
        var rest = _pending.ToArray();
        _pending.Clear();
        _pending.Enqueue(head);
        foreach (var p in rest)
        {
            _pending.Enqueue(p);
        }
    }

    private bool HeadIsSubscription() => _pending.TryPeek(out var head) && RedisCommands.IsSubscription(head.Command);

    /// <summary>Subscriptions already answered whose further confirmations never came: the next reply is not theirs.</summary>
    private void DropAnswered() => DropAnsweredUnless(null);

    private void DropAnsweredUnless(string? kind)
    {
        while (_pending.TryPeek(out var head) && head.Answered && head.Command != kind)
        {
            _pending.Dequeue();
        }
    }

    private void ReportPush(RespReader reader, long nowNs) => sink.OnMessage(new RedisExchange
    {
        StartNs = _replyStartNs,
        EndNs = nowNs,
        Command = reader.Captured[0] ?? "push",
        Key = reader.Captured[1],
        Args = reader.Size,
        Reply = new RedisReply(RespType.Push, reader.Size, null, null),
        IsPush = true,
    });

    private void Report(in Pending command, RedisReply? reply, string? error, long endNs) => sink.OnMessage(new RedisExchange
    {
        StartNs = command.StartNs,
        EndNs = endNs,
        Command = command.Command,
        Key = command.Key,
        Args = command.Args,
        Reply = reply,
        Error = error,
    });

    /// <summary>A plausible RESP array of bulk strings (<c>*N\r\n$</c>) for commands; any RESP line start for replies.</summary>
    public int FindFrameBoundary(MessageKind kind, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            if (i > 0 && data[i - 1] != '\n')
            {
                continue;
            }
            if (kind == MessageKind.Request ? RedisProtocol.IsCommandStart(data[i..]) : RedisProtocol.IsReplyStart(data[i..]))
            {
                return i;
            }
        }
        return -1;
    }

    public bool OnGap(MessageKind kind, long bytes, long nowNs)
    {
        var reader = kind == MessageKind.Request ? _requests : _replies;
        if (reader.AbsorbGap(bytes))
        {
            return true;
        }
        reader.Reset();
        // Commands or replies were lost: which reply answers which command is no longer known.
        FlushPending(nowNs);
        return false;
    }

    public void OnClose(long nowNs) => FlushPending(nowNs);

    private void FlushPending(long nowNs)
    {
        _ = nowNs;
        while (_pending.TryDequeue(out var p))
        {
            if (!p.Answered)
            {
                Report(p, null, null, p.StartNs);
            }
        }
    }
}
