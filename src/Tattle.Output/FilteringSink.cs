using Tattle.Records;

namespace Tattle.Output;

/// <summary>
/// Passes on the records of the connections a <see cref="RecordFilter"/> keeps (--port, --host, --app), and the
/// summary rows it keeps. Process records, losses and notices always pass: they say what was traced and how well.
/// A connection is judged by its conn.open (or conn.fail); its data, gap, message and conn.close records follow
/// that verdict. With --app a connection's protocol is known only at its first message, so its conn.open is held
/// until then and dropped at conn.close if no message of the protocol came.
/// </summary>
public sealed class FilteringSink(IRecordSink inner, RecordFilter filter) : IRecordSink
{
    private enum Verdict
    {
        Drop,
        Pass,
        Held,
    }

    private readonly Dictionary<string, (Verdict Verdict, ConnOpenRecord? Open)> _conns = new(StringComparer.Ordinal);

    /// <summary>The connections judged and still open (bounded by the traced processes' open connections).</summary>
    public int Tracked => _conns.Count;

    public void Write(Record record)
    {
        if (Keep(record) is { } kept)
        {
            inner.Write(kept);
        }
    }

    /// <summary>The summary with only the rows the filter keeps (for the table printed at the end).</summary>
    public SummaryRecord Apply(SummaryRecord summary) => summary with
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
                var verdict = !filter.MatchesEndpoints(open.Local, open.Remote) ? Verdict.Drop
                    : filter.Apps.Count > 0 ? Verdict.Held : Verdict.Pass;
                _conns[open.Conn] = (verdict, verdict == Verdict.Held ? open : null);
                return verdict == Verdict.Pass ? open : null;
            case ConnCloseRecord close:
                bool known = _conns.Remove(close.Conn, out var state);
                return (known ? state.Verdict == Verdict.Pass : PassesWithoutApp(close.Local, close.Remote)) ? close : null;
            case ConnFailRecord fail:
                // A connection that never opened carried no protocol: --app leaves it out.
                return PassesWithoutApp(fail.Local, fail.Remote) ? fail : null;
            case ListenRecord listen:
                return PassesWithoutApp(listen.Local, null) ? listen : null;
            case MessageRecord message:
                return KeepMessage(message);
            case DataRecord data:
                return Follows(data.Conn, data.Peer) ? data : null;
            case GapRecord gap:
                return Follows(gap.Conn, null) ? gap : null;
            case SummaryRecord summary:
                return Apply(summary);
            default:
                return record; // process records, loss, notice
        }
    }

    private bool PassesWithoutApp(Endpoint? local, Endpoint? remote) =>
        filter.Apps.Count == 0 && filter.MatchesEndpoints(local, remote);

    /// <summary>A record on a connection goes where the connection went; on an unknown one, by its own peer.</summary>
    private bool Follows(string conn, Endpoint? peer) =>
        _conns.TryGetValue(conn, out var state) ? state.Verdict == Verdict.Pass : PassesWithoutApp(null, peer);

    private Record? KeepMessage(MessageRecord message)
    {
        string type = message.Type;
        int dot = type.IndexOf('.', StringComparison.Ordinal);
        bool appMatches = filter.MatchesApp(dot < 0 ? type : type[..dot]);
        if (!_conns.TryGetValue(message.Conn, out var state))
        {
            // No conn.open seen (TLS plaintext without its socket): the message's own remote decides.
            return appMatches && filter.MatchesEndpoints(null, message.Remote) ? message : null;
        }
        if (state.Verdict == Verdict.Held && appMatches)
        {
            _conns[message.Conn] = (Verdict.Pass, null);
            inner.Write(state.Open!);
            return message;
        }
        return state.Verdict == Verdict.Pass && appMatches ? message : null;
    }

    public void Flush() => inner.Flush();

    public void Dispose() => inner.Dispose();
}
