using Tattle.Protocols.Common;

namespace Tattle.Protocols.Dns;

/// <summary>
/// Pairs DNS queries with responses on one socket: by id, peer (for datagrams) and question, so two queries that
/// share an id (RFC 5452 §9.2 makes that rare, not impossible) never take each other's answer. Queries wait in a
/// bounded table; those evicted, timed out or still waiting at close are reported unanswered.
/// </summary>
internal sealed class DnsStitcher(IMessageSink sink)
{
    /// <summary>Queries waiting for an answer, at most.</summary>
    public const int MaxPending = 1024;

    /// <summary>
    /// A query older than this is given up as unanswered when the next message comes: resolvers retry after a
    /// few seconds, and a long-lived socket (a resolver daemon's) would otherwise hold it until it closes.
    /// </summary>
    public const long PendingTimeoutNs = 30_000_000_000;

    private readonly record struct Key(ushort Id, string? Peer, string Name, ushort QType);

    private readonly record struct Pending(Key Key, string QTypeName, string Transport, long StartNs);

    private sealed class KeyComparer : IEqualityComparer<Key>
    {
        public static readonly KeyComparer Instance = new();

        // Names compare without case (RFC 4343 §3), so a 0x20-randomised query still meets its echo.
        public bool Equals(Key x, Key y) =>
            x.Id == y.Id && x.QType == y.QType && string.Equals(x.Peer, y.Peer, StringComparison.Ordinal)
            && string.Equals(x.Name, y.Name, StringComparison.OrdinalIgnoreCase);

        // The id is random per query (RFC 5452 §9.2) and spreads the keys by itself; mDNS sends id 0, so the type, the
        // lengths and three letters of the name (case folded) spread those. Hashing the strings' whole text (Marvin,
        // twice a lookup) was 6 % of tattle's CPU on a DNS server.
        public int GetHashCode(Key k) => k.Id | ((k.QType << 16) ^ (k.Name.Length << 24) ^ ((k.Peer?.Length ?? 0) << 20) ^ Letters(k.Name));

        private static int Letters(string name) =>
            name.Length == 0 ? 0 : ((name[0] | 0x20) << 8) ^ ((name[name.Length / 2] | 0x20) << 12) ^ ((name[^1] | 0x20) << 16);
    }

    /// <summary>The sink is done with each message when it returns: the stitcher refills <see cref="_exchange"/>.</summary>
    private readonly bool _reuse = sink.ConsumesAtOnce;

    private DnsExchange? _exchange;

    private readonly Dictionary<Key, LinkedListNode<Pending>> _pending = new(KeyComparer.Instance);
    private readonly LinkedList<Pending> _order = new();

    /// <summary>A node the last answer or give-up freed: the next query waits in it instead of in a new one.</summary>
    private LinkedListNode<Pending>? _spare;

    /// <summary>A query was seen. A retransmission (same id, peer and question) folds into the first send.</summary>
    public void OnQuery(in DnsMessage query, string? peer, string transport, long startNs, long nowNs)
    {
        Expire(nowNs);
        var key = new Key(query.Header.Id, peer, query.QName!, query.QType);
        if (_pending.ContainsKey(key))
        {
            return;
        }
        if (_pending.Count >= MaxPending)
        {
            ReportUnanswered(_order.First!, nowNs);
        }
        var pending = new Pending(key, DnsCodes.TypeName(query.QType), transport, startNs);
        if (_spare is { } node)
        {
            _spare = null;
            node.Value = pending;
            _order.AddLast(node);
        }
        else
        {
            node = _order.AddLast(pending);
        }
        _pending.Add(key, node);
    }

    /// <summary>A response was seen: reports it with its query, or alone (<c>HasQuery=false</c>).</summary>
    public void OnResponse(in DnsMessage response, bool cut, string? peer, string transport, long startNs, long nowNs)
    {
        var node = Take(response, peer);
        Expire(nowNs);
        var query = node?.Value;
        _spare = node ?? _spare;
        sink.OnMessage(Exchange().Fill(
            startNs: query?.StartNs ?? startNs,
            endNs: nowNs,
            id: response.Header.Id,
            // The query's spelling of the name when there is one: it is what the program asked.
            query: query?.Key.Name ?? response.QName ?? "",
            qtype: query?.QTypeName ?? (response.QName is null ? "" : DnsCodes.TypeName(response.QType)),
            rcode: DnsCodes.RcodeName(response.Rcode),
            answers: response.Answers,
            transport: transport,
            // A response of unknown sender answers the peer its query went to.
            peer: peer ?? query?.Key.Peer,
            hasQuery: query is not null,
            truncated: cut || response.Header.Truncated));
    }

    private DnsExchange Exchange() => Refillable.Next(_reuse, ref _exchange, NewExchange);

    // Fill sets the times as every other field.
    private static readonly Func<DnsExchange> NewExchange = static () => new() { StartNs = 0, EndNs = 0 };

    /// <summary>The socket closed: every query still waiting is reported unanswered.</summary>
    public void Close(long nowNs)
    {
        while (_order.First is { } first)
        {
            ReportUnanswered(first, nowNs);
        }
    }

    /// <summary>
    /// Removes and returns the query <paramref name="response"/> answers, if one waits. A datagram whose peer is not
    /// known (a receive under --no-syscalls: the kernel writes its sender after the socket layer's tracepoint) pairs
    /// by id and question alone, with the oldest query of any peer, or a known peer's response with the oldest query
    /// of unknown peer.
    /// </summary>
    private LinkedListNode<Pending>? Take(in DnsMessage response, string? peer)
    {
        if (response.QName is not null
            && (_pending.Remove(new Key(response.Header.Id, peer, response.QName, response.QType), out var found)
                || (peer is not null && _pending.Remove(new Key(response.Header.Id, null, response.QName, response.QType), out found))))
        {
            _order.Remove(found);
            return found;
        }
        if (response.QName is not null && peer is not null)
        {
            return null;
        }
        // No question in the response (a FORMERR may carry none), or no peer: what is known of both, oldest first.
        for (var node = _order.First; node is not null; node = node.Next)
        {
            var key = node.Value.Key;
            bool samePeer = peer is null || key.Peer is null || string.Equals(key.Peer, peer, StringComparison.Ordinal);
            bool sameQuestion = response.QName is null
                || (key.QType == response.QType && string.Equals(key.Name, response.QName, StringComparison.OrdinalIgnoreCase));
            if (key.Id == response.Header.Id && samePeer && sameQuestion)
            {
                Remove(node);
                return node;
            }
        }
        return null;
    }

    private void Expire(long nowNs)
    {
        while (_order.First is { } first && nowNs - first.Value.StartNs > PendingTimeoutNs)
        {
            ReportUnanswered(first, nowNs);
        }
    }

    private void ReportUnanswered(LinkedListNode<Pending> node, long nowNs)
    {
        Remove(node);
        var query = node.Value;
        _spare = node;
        sink.OnMessage(Exchange().Fill(query.StartNs, nowNs, query.Key.Id, query.Key.Name, query.QTypeName, rcode: null,
            answers: [], query.Transport, query.Key.Peer, hasQuery: true, truncated: false));
    }

    private void Remove(LinkedListNode<Pending> node)
    {
        _pending.Remove(node.Value.Key);
        _order.Remove(node);
    }
}
