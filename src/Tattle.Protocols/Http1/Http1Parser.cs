using Tattle.Protocols.Common;
using static Tattle.Protocols.Http1.HttpSyntax;

namespace Tattle.Protocols.Http1;

/// <summary>
/// One connection's HTTP/1.x reader: heads are walked by <see cref="HttpHeadParser"/>, bodies skipped by
/// <see cref="HttpBodyReader"/>, and requests paired with responses first in, first out (RFC 9112 section 9.3:
/// responses come in the order of their requests, pipelined or not).
/// </summary>
internal sealed class Http1Parser(ParserOptions options, IMessageSink sink) : IProtocolParser, IBodySkipping
{
    /// <summary>Requests waiting for a response beyond this are reported unanswered: a bound on memory.</summary>
    internal const int MaxPending = 256;

    private readonly Side _requests = new(MessageKind.Request);
    private readonly Side _responses = new(MessageKind.Response);
    private readonly PendingQueue _pending = new();

    /// <summary>How many entries at the front of <see cref="_pending"/> have their final response.</summary>
    private int _answered;

    /// <summary>Response bytes were lost: the next response is paired by time, not by order.</summary>
    private bool _resyncResponses;

    private bool _stopped;

    /// <summary>
    /// The sink is done with each exchange when it returns: the exchange, and the requests and responses each
    /// pending slot holds, are refilled instead of allocated (a keep-alive connection then makes none per exchange).
    /// </summary>
    private readonly bool _reuse = sink.ConsumesAtOnce;

    private HttpExchange? _spareExchange;

    private HttpResponse? _spareOrphanResponse;

    public string Name => Http1Protocol.Name;

    public ProtocolSwitch? Switch { get; private set; }

    public ParseResult Parse(MessageKind kind, ReadOnlySpan<byte> data, in StreamContext context)
    {
        if (_stopped)
        {
            return ParseResult.EndOfStream(0);
        }
        var side = kind == MessageKind.Request ? _requests : _responses;
        if (side.InBody)
        {
            return ReadBody(side, data, 0, context);
        }
        return ParseHead(side, data, context);
    }

    public int FindFrameBoundary(MessageKind kind, ReadOnlySpan<byte> data)
    {
        int pos = 0;
        while (pos < data.Length)
        {
            var rest = data[pos..];
            var found = kind == MessageKind.Request ? DetectRequest(rest) : DetectResponse(rest);
            // Maybe: a start line cut short by the end of the data; Parse will decide once it is whole.
            if (found != Detection3.No)
            {
                return pos;
            }
            int lf = rest.IndexOf(LF);
            if (lf < 0)
            {
                return -1;
            }
            pos += lf + 1;
        }
        return -1;
    }

    public bool OnGap(MessageKind kind, long bytes, long nowNs) => Absorb(kind, bytes, nowNs, counted: false);

    public long SkippableBytes(MessageKind kind)
    {
        var side = kind == MessageKind.Request ? _requests : _responses;
        return !_stopped && side.InBody ? side.Body.Skippable : 0;
    }

    public bool OnSkipped(MessageKind kind, long bytes, long nowNs) => Absorb(kind, bytes, nowNs, counted: true);

    /// <param name="counted">Left out at the parser's request (<see cref="SkippableBytes"/>), not lost.</param>
    private bool Absorb(MessageKind kind, long bytes, long nowNs, bool counted)
    {
        if (_stopped)
        {
            return false;
        }
        if (bytes <= 0)
        {
            return true;
        }
        var side = kind == MessageKind.Request ? _requests : _responses;
        if (!side.InBody)
        {
            // The gap may hide message starts: whatever the caller holds of a head is void.
            DropHead(side);
            return false;
        }
        switch (side.Body.OnGap(bytes, counted))
        {
            case BodyGap.Absorbed:
                return true;
            case BodyGap.AbsorbedComplete:
                Complete(side, nowNs, truncated: false);
                return true;
            case BodyGap.Overran:
                Complete(side, nowNs, truncated: false);
                DropHead(side);
                return false;
            default:
                Complete(side, nowNs, truncated: true);
                DropHead(side);
                return false;
        }
    }

    public void OnClose(long nowNs)
    {
        if (_stopped)
        {
            return;
        }
        if (_responses.InBody)
        {
            Complete(_responses, nowNs, truncated: _responses.Body.Mode != BodyMode.UntilClose);
        }
        StopAt(nowNs);
    }

    private ParseResult ParseHead(Side side, ReadOnlySpan<byte> data, in StreamContext context)
    {
        if (data.IsEmpty || (side.Kind == MessageKind.Request && AwaitingTunnel()))
        {
            return ParseResult.NeedMoreData();
        }
        // Empty lines before a start line are skipped (RFC 9112 section 2.2).
        if (data[0] == LF)
        {
            return ParseResult.Ignored(1);
        }
        if (data[0] == CR)
        {
            if (data.Length == 1)
            {
                return ParseResult.NeedMoreData();
            }
            return data[1] == LF ? ParseResult.Ignored(2) : Refuse(side);
        }
        if (!side.HeadStarted)
        {
            side.HeadStarted = true;
            side.HeadStartNs = context.StartNs;
            // Garbage is refused on sight rather than after 64 KiB of waiting for an empty line.
            var plausible = side.Kind == MessageKind.Request ? DetectRequest(data) : DetectResponse(data);
            if (plausible == Detection3.No)
            {
                return Refuse(side);
            }
        }

        switch (HttpHeadParser.FindHeadEnd(data, ref side.HeadScan, out int headLength))
        {
            case HeadSearch.Incomplete:
                return ParseResult.NeedMoreData();
            case HeadSearch.TooLong:
                return Refuse(side);
        }

        var builder = new HttpMessageBuilder(side.Draft, options.Redact, headers: options.Headers);
        var head = data[..headLength];
        var framing = HeadFraming.None;
        bool ok = HttpHeadParser.TryParseStartLine(head, side.Kind == MessageKind.Request, ref builder, out int fieldsStart);
        var fields = head[fieldsStart..];
        if (ok && !side.Draft.TryReuseFields(fields, out framing))
        {
            ok = HttpHeadParser.TryParseFields(fields, ref builder, ref framing);
            if (ok)
            {
                side.Draft.RememberFields(fields, framing);
            }
        }
        // A request whose final transfer coding is not chunked has no knowable end (RFC 9112 section 6.3 rule 4).
        if (!ok || (side.Kind == MessageKind.Request && framing.HasTransferEncoding && !framing.Chunked))
        {
            return Refuse(side);
        }

        side.Draft.HeadBytes = headLength;
        side.Draft.StartNs = side.HeadStartNs;
        side.Draft.Chunked = framing.Chunked;
        side.HeadStarted = false;
        side.HeadScan = 0;
        return side.Kind == MessageKind.Request
            ? OnRequestHead(side, data, headLength, framing, context)
            : OnResponseHead(side, data, headLength, framing, context);
    }

    private ParseResult OnRequestHead(Side side, ReadOnlySpan<byte> data, int headLength, HeadFraming framing, in StreamContext context)
    {
        if (_pending.Count == MaxPending)
        {
            EvictOldest();
        }
        var draft = side.Draft;
        var entry = _pending.Enqueue();
        entry.Method = draft.Method;
        entry.StartNs = draft.StartNs;
        entry.RequestUpgrade = draft.Upgrade;

        // Requests without Transfer-Encoding or Content-Length have no body (RFC 9112 section 6.3 rule 6).
        var mode = framing.Chunked ? BodyMode.Chunked : framing.ContentLength > 0 ? BodyMode.Length : BodyMode.None;
        return StartBody(side, mode, framing.ContentLength, data, headLength, context);
    }

    private ParseResult OnResponseHead(Side side, ReadOnlySpan<byte> data, int headLength, HeadFraming framing, in StreamContext context)
    {
        var draft = side.Draft;
        int status = draft.Status;
        var target = FindRequestAnswered(draft.StartNs);

        // Interim responses precede the final one and answer nothing by themselves (RFC 9110 section 15.2).
        if (status is >= 100 and < 200 && status != 101)
        {
            (target is null ? side.OrphanInterim ??= [] : target.Interim ??= []).Add(status);
            draft.Reset(listsHandedOver: false);
            return ParseResult.Success(headLength);
        }

        side.Orphan = target is null;
        bool tunnel = target?.Method == "CONNECT" && status is >= 200 and < 300;
        if (status == 101 || tunnel)
        {
            // After a 101's empty line, or a CONNECT's 2xx, the bytes are another protocol's (RFC 9110 sections
            // 15.2.2 and 9.3.6).
            side.Body.Start(BodyMode.None, 0, 0);
            string? upgrade = status == 101 ? draft.Upgrade ?? target?.RequestUpgrade ?? "" : null;
            if (upgrade is { Length: > 0 })
            {
                var request = target?.Request;
                // The switch outlives this call: it takes its own copy of a request the parser would refill.
                Switch = new ProtocolSwitch(upgrade.Trim(), request is null ? null
                    : new HttpExchange { StartNs = request.StartNs, EndNs = context.NowNs, Request = _reuse ? request with { } : request });
            }
            Complete(side, context.NowNs, truncated: false, upgrade);
            StopAt(context.NowNs);
            return ParseResult.EndOfStream(headLength);
        }

        // RFC 9112 section 6.3: rule 1 (HEAD, 204, 304), rule 3 (chunked last, else until close), rule 5, rule 8.
        BodyMode mode;
        if (target?.Method == "HEAD" || status is 204 or 304)
        {
            mode = BodyMode.None;
        }
        else if (framing.HasTransferEncoding)
        {
            mode = framing.Chunked ? BodyMode.Chunked : BodyMode.UntilClose;
        }
        else if (framing.ContentLength >= 0)
        {
            mode = framing.ContentLength > 0 ? BodyMode.Length : BodyMode.None;
        }
        else
        {
            mode = BodyMode.UntilClose;
        }
        return StartBody(side, mode, framing.ContentLength, data, headLength, context);
    }

    private ParseResult StartBody(Side side, BodyMode mode, long length, ReadOnlySpan<byte> data, int headLength, in StreamContext context)
    {
        side.Body.Start(mode, length, options.BodyLimit);
        if (mode == BodyMode.None)
        {
            Complete(side, context.NowNs, truncated: false);
            return ParseResult.Success(headLength);
        }
        side.InBody = true;
        return ReadBody(side, data[headLength..], headLength, context);
    }

    /// <param name="before">Bytes this call already consumed (a head) in front of <paramref name="data"/>.</param>
    private ParseResult ReadBody(Side side, ReadOnlySpan<byte> data, int before, in StreamContext context)
    {
        var trailers = new HttpMessageBuilder(side.Draft, options.Redact, trailers: true);
        var status = side.Body.Read(data, context.EndOfStream, ref trailers, out int consumed);
        int total = before + consumed;
        switch (status)
        {
            case BodyStatus.Complete:
                Complete(side, context.NowNs, truncated: false);
                return ParseResult.Success(total);
            case BodyStatus.NeedMoreData:
                return ParseResult.NeedMoreData(total);
            default:
                // Invalid consumes nothing: hand back what was good now, refuse on the next call.
                if (total > 0)
                {
                    return ParseResult.Ignored(total);
                }
                Complete(side, context.NowNs, truncated: true);
                return Refuse(side);
        }
    }

    /// <summary>The message on <paramref name="side"/> is over (complete, or cut short).</summary>
    private void Complete(Side side, long nowNs, bool truncated, string? upgrade = null)
    {
        var draft = side.Draft;
        side.InBody = false;
        if (side.Kind == MessageKind.Request)
        {
            if (_pending.Count > 0)
            {
                var entry = _pending[_pending.Count - 1];
                entry.Request = draft.FillRequest(Refillable.Next(_reuse, ref entry.SpareRequest, NewRequest), side.Body, nowNs, truncated);
            }
            draft.Reset(listsHandedOver: true);
            Flush();
            return;
        }

        bool endedAtClose = !truncated && side.Body.Mode == BodyMode.UntilClose;
        var into = side.Orphan ? Refillable.Next(_reuse, ref _spareOrphanResponse, NewResponse) : Refillable.Next(_reuse, ref _pending[_answered].SpareResponse, NewResponse);
        var response = draft.FillResponse(into, side.Body, nowNs, truncated, endedAtClose);
        draft.Reset(listsHandedOver: true);
        if (side.Orphan)
        {
            // Its request was sent before tracing began.
            sink.OnMessage(Exchange(response.StartNs, response.EndNs, null, response, upgrade, side.OrphanInterim));
        }
        else
        {
            var entry = _pending[_answered++];
            entry.Response = response;
            entry.ResponseDone = true;
            entry.Upgrade = upgrade;
            Flush();
        }
        side.Orphan = false;
        side.OrphanInterim = null;
    }

    /// <summary>
    /// The request the next response answers: the oldest unanswered one, unless it was sent after the response
    /// began (then the response answers a request from before tracing). After lost response bytes, order is
    /// no guide; the latest request sent before the response began is taken, as without pipelining it is the one.
    /// </summary>
    private Pending? FindRequestAnswered(long responseStartNs)
    {
        if (_resyncResponses)
        {
            _resyncResponses = false;
            int latest = -1;
            for (int i = _answered; i < _pending.Count && _pending[i].StartNs <= responseStartNs; i++)
            {
                latest = i;
            }
            while (latest > _answered)
            {
                _pending[_answered++].ResponseDone = true;
            }
            Flush();
        }
        if (_answered < _pending.Count && _pending[_answered].StartNs <= responseStartNs)
        {
            return _pending[_answered];
        }
        return null;
    }

    /// <summary>While a CONNECT waits for its answer, the client's next bytes may be the tunnel's: hold them.</summary>
    private bool AwaitingTunnel() =>
        _pending.Count > 0 && _pending[_pending.Count - 1] is { Method: "CONNECT", ResponseDone: false, Request: not null };

    /// <summary>Reports the exchanges whose request and response are both over, oldest first.</summary>
    private void Flush()
    {
        while (_pending.Count > 0 && _pending[0].ResponseDone && _pending[0].Request is not null)
        {
            Report(_pending[0]);
            _pending.Dequeue();
            _answered--;
        }
    }

    private void EvictOldest()
    {
        var oldest = _pending[0];
        if (oldest.Request is not null)
        {
            Report(oldest);
        }
        _pending.Dequeue();
        if (oldest.ResponseDone)
        {
            _answered--;
        }
        else if (_answered == 0 && _responses.InBody && !_responses.Orphan)
        {
            // The response being read answered the evicted request: report it alone.
            _responses.Orphan = true;
        }
    }

    /// <summary>Parsing ends (close, 101, tunnel): the open request is cut short and everything pending reported.</summary>
    private void StopAt(long nowNs)
    {
        if (_requests.InBody)
        {
            Complete(_requests, nowNs, truncated: true);
        }
        while (_pending.Count > 0)
        {
            if (_pending[0].Request is not null)
            {
                Report(_pending[0]);
            }
            _pending.Dequeue();
        }
        _answered = 0;
        _stopped = true;
    }

    private void Report(Pending entry)
    {
        var request = entry.Request!;
        var response = entry.Response;
        sink.OnMessage(Exchange(request.StartNs, response?.EndNs ?? request.EndNs, request, response, entry.Upgrade, entry.Interim));
    }

    private HttpExchange Exchange(long startNs, long endNs, HttpRequest? request, HttpResponse? response, string? upgrade, List<int>? interim) =>
        Refillable.Next(_reuse, ref _spareExchange, NewExchange).Refill(startNs, endNs, request, response, upgrade, (IReadOnlyList<int>?)interim ?? []);

    private static readonly Func<HttpRequest> NewRequest = static () => new();
    private static readonly Func<HttpResponse> NewResponse = static () => new();
    private static readonly Func<HttpExchange> NewExchange = static () => new() { StartNs = 0, EndNs = 0 };

    private ParseResult Refuse(Side side)
    {
        DropHead(side);
        return ParseResult.Invalid;
    }

    private void DropHead(Side side)
    {
        side.HeadStarted = false;
        side.HeadScan = 0;
        side.Draft.Reset(listsHandedOver: false);
        if (side.Kind == MessageKind.Response)
        {
            _resyncResponses = true;
        }
    }

    /// <summary>The state of one direction.</summary>
    private sealed class Side(MessageKind kind)
    {
        public readonly MessageKind Kind = kind;
        public readonly MessageDraft Draft = new();
        public HttpBodyReader Body;
        public bool InBody;

        /// <summary>The current head's first byte has been seen (at <see cref="HeadStartNs"/>).</summary>
        public bool HeadStarted;

        public long HeadStartNs;

        /// <summary>Where <see cref="HttpHeadParser.FindHeadEnd"/> resumes: the stream keeps unconsumed bytes.</summary>
        public int HeadScan;

        /// <summary>Response side: the response being read answers no traced request.</summary>
        public bool Orphan;

        public List<int>? OrphanInterim;
    }

    /// <summary>A request and, once it comes, its response.</summary>
    private sealed class Pending
    {
        public string Method = "";
        public long StartNs;
        public string? RequestUpgrade;

        /// <summary>Set when the request is over; until then its body is still being read.</summary>
        public HttpRequest? Request;

        public HttpResponse? Response;

        /// <summary>With a sink that consumes at once: the objects this slot refills, kept when it is cleared.</summary>
        public HttpRequest? SpareRequest;

        public HttpResponse? SpareResponse;

        /// <summary>The final response is over, or was lost in a gap (then <see cref="Response"/> stays null).</summary>
        public bool ResponseDone;

        public string? Upgrade;
        public List<int>? Interim;

        public void Clear()
        {
            Method = "";
            StartNs = 0;
            RequestUpgrade = Upgrade = null;
            Request = null;
            Response = null;
            ResponseDone = false;
            Interim = null;
        }
    }

    /// <summary>A ring of reused entries: the steady state allocates none.</summary>
    private sealed class PendingQueue
    {
        // A power of two, so a slot is a mask away, not a division: the queue is read several times per exchange.
        private Pending?[] _ring = new Pending?[4];
        private int _head;

        public int Count { get; private set; }

        public Pending this[int index] => _ring[Wrap(_head + index)]!;

        public Pending Enqueue()
        {
            if (Count == _ring.Length)
            {
                var grown = new Pending?[_ring.Length * 2];
                for (int i = 0; i < Count; i++)
                {
                    grown[i] = _ring[Wrap(_head + i)];
                }
                _ring = grown;
                _head = 0;
            }
            ref var slot = ref _ring[Wrap(_head + Count)];
            slot ??= new Pending();
            Count++;
            return slot;
        }

        public void Dequeue()
        {
            _ring[_head]!.Clear();
            _head = Wrap(_head + 1);
            Count--;
        }

        private int Wrap(int position) => position & (_ring.Length - 1);
    }
}
