using Tattle.Protocols.Common;

namespace Tattle.Protocols.Redis;

/// <summary>
/// Reads both directions of a Redis connection (RESP2 and RESP3, see README.md) and pairs commands with replies in
/// order: Redis answers every command in the order it was sent, pipelined or inside MULTI (where the reply is QUEUED).
/// After commands were lost in a gap, the replies are realigned on the commands that follow it (see README.md).
/// </summary>
public sealed class RedisParser(IMessageSink sink) : IProtocolParser
{
    /// <summary>Commands awaiting replies beyond this are reported unanswered: a server never lags that far.</summary>
    private const int MaxPending = 100_000;

    /// <summary>Replies kept while realigning after lost commands; beyond, the commands waiting are given up.</summary>
    public const int MaxKept = 1024;

    private readonly RespReader _requests = new(commands: true);
    private readonly RespReader _replies = new(commands: false);

    /// <summary>Commands paired in order; after a request-side gap, those sent before it.</summary>
    private readonly Queue<Pending> _pending = new();

    /// <summary>After a request-side gap: the commands parsed since, waiting for the replies to be realigned.</summary>
    private readonly Queue<Pending> _waiting = new();

    /// <summary>After a request-side gap: replies that may answer <see cref="_waiting"/> (summaries, no payload).</summary>
    private readonly Queue<Kept> _kept = new();

    /// <summary>The sink is done with each message when it returns: the parser refills <see cref="_exchange"/>.</summary>
    private readonly bool _reuse = sink.ConsumesAtOnce;

    private RedisExchange? _exchange;

    /// <summary>The last reply handed of each type: a client that takes turns between GET and SET gets both again.</summary>
    private readonly RedisReply?[] _lastReplies = new RedisReply?[(int)RespType.BulkError + 1];

    private long _requestStartNs;
    private long _replyStartNs;

    /// <summary>Commands were lost in a gap: replies past <see cref="_pending"/> are realigned, not paired in order.</summary>
    private bool _realigning;

    /// <summary>While realigning: replies seen past <see cref="_pending"/>, kept or not.</summary>
    private long _repliesSinceHole;

    /// <summary>When the last reply ended: a command begun after it was sent by a client waiting for nothing.</summary>
    private long _lastReplyEndNs;

    /// <summary>Replies nothing waited for since the last command read: a gap told late had those answered.</summary>
    private long _unownedReplies;

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

        /// <summary>When the command was completely sent: a reply that began before is not its reply.</summary>
        public long SentNs;
    }

    /// <summary>A reply kept while realigning: what a record shows of it, and when it ended.</summary>
    private readonly record struct Kept(RedisReply Reply, string? Error, long EndNs);

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
        bool reported = kind == MessageKind.Request ? OnCommand(reader, context.NowNs) : OnReply(reader, context.NowNs);
        return reported || kind == MessageKind.Request ? ParseResult.Success(consumed) : ParseResult.Ignored(consumed);
    }

    private bool OnCommand(RespReader reader, long nowNs)
    {
        if (reader.Type != RespType.Array || reader.Size == 0)
        {
            return false;
        }
        var (command, key) = RedisCommands.Describe(reader.Captured, reader.Size);
        if (_realigning && ClientWaitedForEverything())
        {
            Realign();
        }
        _unownedReplies = 0;
        var queue = _realigning ? _waiting : _pending;
        if (queue.Count >= MaxPending)
        {
            Report(queue.Dequeue(), null, null, _requestStartNs);
        }
        bool subscription = RedisCommands.IsSubscription(command);
        _subscribed |= subscription && !command.Contains("UNSUB", StringComparison.Ordinal);
        queue.Enqueue(new Pending
        {
            Command = command,
            Key = key,
            Args = reader.Size - 1,
            StartNs = _requestStartNs,
            SentNs = nowNs,
            Confirmations = subscription ? Math.Max(1, reader.Size - 1) : 1,
        });
        return true;
    }

    /// <summary>
    /// A command begun after the last reply ended, with every command sent before the hole answered and at least
    /// one reply more than the commands waiting (the lost commands had one at least): the client waited for all
    /// its replies, so the last ones kept are the waiting commands'.
    /// </summary>
    private bool ClientWaitedForEverything() =>
        _pending.Count == 0 && _requestStartNs >= _lastReplyEndNs
        && _kept.Count >= _waiting.Count && _repliesSinceHole > _waiting.Count;

    /// <summary>
    /// Tail alignment: the replies owed to the commands lost come before those of the commands parsed after the
    /// hole, so the last kept replies go to the waiting commands in order and the surplus (the lost commands')
    /// is dropped. With fewer kept than waiting (the connection closed first) which reply is whose is not known:
    /// the waiting commands are reported unanswered.
    /// </summary>
    private void Realign()
    {
        while (_kept.Count > _waiting.Count)
        {
            _kept.Dequeue();
        }
        bool all = _kept.Count == _waiting.Count;
        while (_waiting.TryDequeue(out var command))
        {
            if (all && _kept.TryDequeue(out var reply))
            {
                Report(command, reply.Reply, reply.Error, reply.EndNs);
            }
            else
            {
                Report(command, null, null, command.StartNs);
            }
        }
        _kept.Clear();
        _realigning = false;
        _repliesSinceHole = 0;
    }

    /// <summary>A reply past the commands sent before the hole: kept for the waiting commands, or dropped.</summary>
    private void Keep(RedisReply reply, string? error, long nowNs)
    {
        _repliesSinceHole++;
        // A reply that began before the first waiting command was completely sent is a lost command's (causality).
        if (!_waiting.TryPeek(out var first) || _replyStartNs < first.SentNs)
        {
            return;
        }
        if (_kept.Count >= MaxKept)
        {
            // Too many lost replies to hold: give the waiting commands up and realign from here.
            GiveUpWaiting();
            return;
        }
        _kept.Enqueue(new Kept(reply, error, nowNs));
    }

    private void GiveUpWaiting()
    {
        while (_waiting.TryDequeue(out var command))
        {
            Report(command, null, null, command.StartNs);
        }
        _kept.Clear();
        _repliesSinceHole = 0;
    }

    private bool OnReply(RespReader reader, long nowNs)
    {
        var reply = Shared(
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
        _lastReplyEndNs = nowNs;
        if (_realigning && _pending.Count == 0)
        {
            Keep(reply, error, nowNs);
            return false;
        }
        if (!_pending.TryDequeue(out var head))
        {
            // The command was sent before tracing began, or lost in a gap not told yet.
            _unownedReplies++;
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

    private void ReportPush(RespReader reader, long nowNs) => sink.OnMessage(Exchange().Fill(
        _replyStartNs, nowNs, reader.Captured[0] ?? "push", reader.Captured[1], reader.Size, Shared(RespType.Push, reader.Size, null, null), null, push: true));

    private void Report(in Pending command, RedisReply? reply, string? error, long endNs) => sink.OnMessage(Exchange().Fill(
        command.StartNs, endNs, command.Command, command.Key, command.Args, reply, error, push: false));

    /// <summary>The connection's one exchange, refilled, for a sink done with each message when it returns; else a new one.</summary>
    private RedisExchange Exchange() => Refillable.Next(_reuse, ref _exchange, NewExchange);

    // Fill sets the times as every other field.
    private static readonly Func<RedisExchange> NewExchange = static () => new() { StartNs = 0, EndNs = 0 };

    /// <summary>
    /// The last reply of its type handed when every value is the same (a client reading one key again, an "OK" to each
    /// SET), else a new one: replies are never changed once handed, so whoever kept one still has what it was.
    /// </summary>
    private RedisReply Shared(RespType type, long? size, long? integer, string? text)
    {
        ref var last = ref _lastReplies[(int)type];
        if (last is { } kept && kept.Size == size && kept.Integer == integer && kept.Text == text)
        {
            return kept;
        }
        return last = new RedisReply(type, size, integer, text);
    }

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
        if (kind == MessageKind.Request)
        {
            // The commands sent before the hole are answered first, in order, as usual; those after it wait for
            // the replies to be realigned. Commands already waiting for an earlier hole's realignment are given up.
            GiveUpWaiting();
            _realigning = true;
            // A gap is told when the bytes after it arrive: the replies of what was lost may have come already.
            _repliesSinceHole = _pending.Count == 0 ? _unownedReplies : 0;
            return false;
        }
        // Replies were lost: which reply answers which command is no longer known.
        FlushPending();
        return false;
    }

    public void OnClose(long nowNs)
    {
        _ = nowNs;
        if (_realigning && _pending.Count == 0)
        {
            // The connection closed: no reply will follow, so the last ones kept are the waiting commands'.
            Realign();
        }
        FlushPending();
    }

    /// <summary>Reports every command waiting unanswered, in the order they were sent, and pairs afresh.</summary>
    private void FlushPending()
    {
        while (_pending.TryDequeue(out var p))
        {
            if (!p.Answered)
            {
                Report(p, null, null, p.StartNs);
            }
        }
        GiveUpWaiting();
        _realigning = false;
    }
}
