using Tattle.Records;

namespace Tattle.Output;

/// <summary>
/// Passes on the records of the connections a <see cref="RecordFilter"/> keeps (--port, --host, --app), and the
/// summary rows it keeps. Process records, losses and notices always pass: they say what was traced and how well.
/// A connection is judged by its conn.open (or conn.fail); its data, gap, message and conn.close records follow
/// that verdict. With --app a connection's protocol is known only at its first message, so its conn.open is held
/// until then and dropped at conn.close if no message of the protocol came. An unconnected UDP socket talks to many
/// peers through one connection, so --port and --host judge each of its datagrams and messages by its own peer: its
/// conn.open is held until the first that passes, and only what passes is kept.
/// </summary>
public sealed class FilteringSink(IRecordSink inner, RecordFilter filter) : IRecordSink
{
    private enum Verdict
    {
        Drop,
        Pass,
        Held,
    }

    /// <summary>
    /// A judged connection: its verdict, its conn.open while held, and for UDP the local end peers are judged with
    /// and the peer its conn.open named.
    /// </summary>
    private sealed record class ConnState(Verdict Verdict, ConnOpenRecord? Open, bool PerPeer, Endpoint? Local, Endpoint? Remote);

    private readonly Dictionary<string, ConnState> _conns = new(StringComparer.Ordinal);

    /// <summary>The connections judged and still open (bounded by the traced processes' open connections).</summary>
    public int Tracked => _conns.Count;

    public void Write(Record record)
    {
        if (Keep(record) is { } kept)
        {
            inner.Write(kept);
        }
    }

    /// <summary>The summary with only the rows <paramref name="filter"/> keeps (for the table printed at the end too).</summary>
    public static SummaryRecord Apply(SummaryRecord summary, RecordFilter filter) => summary with
    {
        Rows = summary.Rows.Where(r => filter.MatchesEndpoints(r.Endpoint, null)
            && (filter.Apps.Count == 0 || r.Protocols.Overlaps(filter.Apps))).ToList(),
        Routes = summary.Routes?.Where(r => filter.MatchesEndpoints(r.Endpoint, null)
            && (filter.Apps.Count == 0 || filter.Apps.Contains(r.Protocol))).ToList(),
    };

    private Record? Keep(Record record)
    {
        switch (record)
        {
            case ConnOpenRecord open:
                bool perPeer = open.Proto == "udp" && filter.FiltersEndpoints;
                var verdict = !filter.MatchesEndpoints(open.Local, open.Remote) ? (perPeer ? Verdict.Held : Verdict.Drop)
                    : filter.Apps.Count > 0 ? Verdict.Held : Verdict.Pass;
                _conns[open.Conn] = new ConnState(verdict, verdict == Verdict.Held ? open : null, perPeer, open.Local, open.Remote);
                return verdict == Verdict.Pass ? open : null;
            case ConnCloseRecord close:
                bool known = _conns.Remove(close.Conn, out var state);
                if (!known)
                {
                    return PassesWithoutApp(close.Local, close.Remote) ? close : null;
                }
                // A UDP socket's close names the peer its open named: the first the filter let through.
                return state!.Verdict != Verdict.Pass ? null : state.PerPeer && state.Remote != close.Remote ? close with { Remote = state.Remote } : close;
            case ConnFailRecord fail:
                // A connection that never opened carried no protocol: --app leaves it out.
                return PassesWithoutApp(fail.Local, fail.Remote) ? fail : null;
            case ListenRecord listen:
                return PassesWithoutApp(listen.Local, null) ? listen : null;
            case MessageRecord message:
                return KeepMessage(message);
            case DataRecord data:
                return Follows(data.Conn, data.Peer, isMessage: false) ? data : null;
            case GapRecord gap:
                return Follows(gap.Conn, null, isMessage: false) ? gap : null;
            case SummaryRecord summary:
                return Apply(summary, filter);
            default:
                return record; // process records, loss, notice
        }
    }

    private bool PassesWithoutApp(Endpoint? local, Endpoint? remote) =>
        filter.Apps.Count == 0 && filter.MatchesEndpoints(local, remote);

    /// <summary>
    /// A record on a connection goes where the connection went; on an unknown one (TLS plaintext without its
    /// socket), by its own peer. On a UDP socket the peer decides (the connected one when the record names none).
    /// A held conn.open is released by the first message of the protocol (<paramref name="isMessage"/>: its
    /// protocol passed --app), or without --app by a UDP socket's first datagram of a matching peer.
    /// </summary>
    private bool Follows(string conn, Endpoint? peer, bool isMessage)
    {
        bool appPasses = isMessage || filter.Apps.Count == 0;
        if (!_conns.TryGetValue(conn, out var state))
        {
            return appPasses && filter.MatchesEndpoints(null, peer);
        }
        if (state.PerPeer && !filter.MatchesEndpoints(state.Local, peer ?? state.Remote))
        {
            return false;
        }
        if (state.Verdict == Verdict.Held && appPasses)
        {
            // Its first peer may be one the filter hid: the open names the one that let it through.
            var open = state.Open!;
            var shown = peer is null || filter.MatchesEndpoints(open.Local, open.Remote) ? open.Remote : peer;
            _conns[conn] = state with { Verdict = Verdict.Pass, Open = null, Remote = shown };
            inner.Write(shown == open.Remote ? open : open with { Remote = shown });
            return true;
        }
        return state.Verdict == Verdict.Pass;
    }

    private Record? KeepMessage(MessageRecord message)
    {
        string type = message.Type;
        int dot = type.IndexOf('.', StringComparison.Ordinal);
        return filter.MatchesApp(dot < 0 ? type : type[..dot]) && Follows(message.Conn, message.Remote, isMessage: true) ? message : null;
    }

    // It holds a conn.open back until the connection's protocol is known, never a message's record.
    public bool ConsumesAtOnce => inner.ConsumesAtOnce;

    public void Flush() => inner.Flush();

    public void Dispose() => inner.Dispose();
}
