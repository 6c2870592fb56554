using System.Buffers.Binary;
using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;
using Tattle.Protocols.Sql;

namespace Tattle.Protocols.Postgres;

/// <summary>
/// Reads both directions of a PostgreSQL connection (protocol 3.0): the startup, simple and extended queries,
/// COPY and notifications. The backend answers a frontend's messages in order, so the statements waiting for an
/// answer form a FIFO; ReadyForQuery ends a simple Query and a Sync. Row values and passwords are never kept;
/// DataRow and CopyData bodies are skipped as they arrive, never buffered.
/// </summary>
internal sealed class PostgresParser(ParserOptions options, IMessageSink sink) : IProtocolParser
{
    /// <summary>The largest message read whole; a longer one is skipped (its content is not reported).</summary>
    public const int MaxMessage = 1 << 20;

    /// <summary>Statement names remembered per connection; more are dropped oldest-unknown (a leak guard).</summary>
    private const int MaxStatements = 1024;

    /// <summary>Bytes of a binary parameter shown as hex when values are kept.</summary>
    private const int MaxBinaryParam = 64;

    private const int Header = 5;

    private enum Step : byte
    {
        Simple,
        Execute,
        Sync,

        /// <summary>Frontend messages lost in a gap: absorbs their answers (see <see cref="AbsorbedByLost"/>).</summary>
        Lost,
    }

    /// <summary>
    /// A Query or Execute waiting for its answer, a Sync waiting for its ReadyForQuery, or what a request-side gap
    /// swallowed.
    /// </summary>
    private sealed class Pending
    {
        public Step Step;

        /// <summary>When the request was completely sent: an answer that began before cannot be its answer.</summary>
        public long SentNs;

        /// <summary>For <see cref="Step.Lost"/>: ReadyForQuery messages absorbed so far.</summary>
        public int Cycles;

        /// <summary>For <see cref="Step.Lost"/>: what was lost certainly held a Query or Sync (owes a ReadyForQuery).</summary>
        public bool OwesCycle;
        public string? Query;
        public int Params;
        public IReadOnlyList<string?>? ParamValues;
        public long StartNs;
        public long Rows;
        public long? TagRows;
        public string? Tag;
        public SqlError? Error;
        public string? Copy;
        public long CopyBytes;

        public void Reset()
        {
            SentNs = StartNs = Rows = CopyBytes = 0;
            Cycles = Params = 0;
            OwesCycle = false;
            Query = Tag = Copy = null;
            ParamValues = null;
            TagRows = null;
            Error = null;
        }
    }

    /// <summary>A bound portal; the unnamed one is rebound for every statement, so its object is reused.</summary>
    private sealed class Portal
    {
        public string? Query;
        public int Params;
        public IReadOnlyList<string?>? Values;
    }

    private readonly Queue<Pending> _pending = new();

    // Reported statements' entries, reused: a steady stream of statements allocates only what it reports.
    private readonly Stack<Pending> _free = new();
    private readonly Dictionary<string, string> _statements = [];
    private readonly Dictionary<string, Portal> _portals = [];

    /// <summary>Per direction: body bytes of a DataRow, CopyData or oversized message still to skip.</summary>
    private readonly long[] _skip = [0, 0];

    private string? _user;
    private string? _database;
    private string? _application;
    private string? _lastParsed;
    private readonly LastStatement _lastQuery = new(SqlDialect.PostgreSql, options.Redact);

    /// <summary>The sink is done with each message when it returns: the parser refills <see cref="_exchange"/>.</summary>
    private readonly bool _reuse = sink.ConsumesAtOnce;
    private PostgresExchange? _exchange;
    private bool _sslAsked;

    /// <summary>A StartupMessage was read and its ReadyForQuery has not come: that one ends no statement.</summary>
    private bool _inStartup;
    private bool _gssAsked;

    /// <summary>The type of the frontend message read in part (0: none): what a gap cuts into.</summary>
    private byte _partialFrontend;

    /// <summary>The lost-stretch placeholder while no frontend message was read after its gap.</summary>
    private Pending? _freshLost;

    /// <summary>A ReadyForQuery nothing waited for came after the last frontend message read.</summary>
    private bool _unownedReady;

    public string Name => "postgresql";

    public ProtocolSwitch? Switch { get; private set; }


    public ParseResult Parse(MessageKind kind, ReadOnlySpan<byte> data, in StreamContext context)
    {
        if (Switch is not null)
        {
            return ParseResult.EndOfStream(0);
        }
        ref long skip = ref _skip[(int)kind];
        if (skip > 0)
        {
            int n = (int)Math.Min(skip, data.Length);
            skip -= n;
            return skip > 0 ? ParseResult.NeedMoreData(n) : ParseResult.Ignored(n);
        }
        if (data.IsEmpty)
        {
            return ParseResult.NeedMoreData();
        }
        return kind == MessageKind.Request ? ParseFrontend(data, context) : ParseBackend(data, context);
    }

    private ParseResult ParseFrontend(ReadOnlySpan<byte> data, in StreamContext context)
    {
        if (data[0] == 0)
        {
            return ParseStartup(data);
        }
        if (!PostgresWire.IsFrontendType(data[0]))
        {
            return ParseResult.Invalid;
        }
        if (!TryFrame(MessageKind.Request, data, out int length, out var skipped))
        {
            _partialFrontend = skipped.Status == ParseStatus.NeedMoreData && skipped.Consumed == 0 ? data[0] : (byte)0;
            return skipped;
        }
        _partialFrontend = 0;
        _unownedReady = false;
        if (_freshLost is not null)
        {
            // A client sends a Query only outside an extended-protocol batch: the stretch lost before it ended one.
            _freshLost.OwesCycle |= data[0] == (byte)'Q';
            _freshLost = null;
        }
        var body = data.Slice(Header, length - 4);
        var r = new PostgresWire(body);
        switch ((char)data[0])
        {
            case 'Q':
                _pending.Enqueue(Rent(Step.Simple, context, _lastQuery.Shown(r.CStringBytes())));
                break;
            case 'P':
                {
                    string name = r.CString();
                    string query = _lastQuery.Redact(r.CString());
                    if (!r.Failed)
                    {
                        if (_statements.Count >= MaxStatements && !_statements.ContainsKey(name))
                        {
                            _statements.Clear();
                        }
                        _statements[name] = query;
                        _lastParsed = query;
                    }
                    break;
                }
            case 'B':
                Bind(ref r);
                break;
            case 'E':
                {
                    var portal = Find(_portals, r.CStringBytes());
                    var execute = Rent(Step.Execute, context, portal?.Query);
                    execute.Params = portal?.Params ?? 0;
                    execute.ParamValues = portal?.Values;
                    _pending.Enqueue(execute);
                    break;
                }
            case 'S':
                _pending.Enqueue(Rent(Step.Sync, context, null));
                break;
            case 'C':
                {
                    // Close: a named statement or portal is gone; the unnamed ones are replaced by the next Parse/Bind.
                    int which = r.Bytes(1) is [var b] ? b : 0;
                    string name = r.CString();
                    _ = which == 'S' ? _statements.Remove(name) : _portals.Remove(name);
                    break;
                }
            default:
                // PasswordMessage/SASL ('p') and the rest carry nothing reported; 'p' is never read at all.
                break;
        }
        return ParseResult.Success(Header + length - 4);
    }

    private void Bind(ref PostgresWire r)
    {
        var portal = r.CStringBytes();
        var statement = r.CStringBytes();
        int formats = r.Int16();
        Span<bool> binary = stackalloc bool[Math.Clamp(formats, 0, 256)];
        for (int i = 0; i < formats && !r.Failed; i++)
        {
            bool b = r.Int16() == 1;
            if (i < binary.Length)
            {
                binary[i] = b;
            }
        }
        int count = r.Int16();
        List<string?>? values = options.Redact ? null : [];
        for (int i = 0; i < count && !r.Failed; i++)
        {
            var v = r.Bytes(r.Int32());
            bool isBinary = formats == 1 ? binary[0] : i < binary.Length && binary[i];
            values?.Add(ParamText(v, isBinary));
        }
        if (r.Failed)
        {
            return;
        }
        string? query = Find(_statements, statement);
        if (Find(_portals, portal) is not { } bound)
        {
            if (_portals.Count >= MaxStatements)
            {
                _portals.Clear();
            }
            bound = new Portal();
            _portals[Encoding.UTF8.GetString(portal)] = bound;
        }
        bound.Query = query;
        bound.Params = Math.Max(0, count);
        bound.Values = values;
    }


    private static string? ParamText(ReadOnlySpan<byte> v, bool binary)
    {
        if (!binary)
        {
            return Encoding.UTF8.GetString(v);
        }
        string hex = Convert.ToHexStringLower(v[..Math.Min(v.Length, MaxBinaryParam)]);
        return "\\x" + hex + (v.Length > MaxBinaryParam ? "…" : "");
    }

    /// <summary>An untyped startup-phase packet: StartupMessage, SSLRequest, GSSENCRequest or CancelRequest.</summary>
    private ParseResult ParseStartup(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8)
        {
            return ParseResult.NeedMoreData();
        }
        int length = BinaryPrimitives.ReadInt32BigEndian(data);
        int code = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
        if (length < 8 || length > PostgresProtocol.MaxStartup)
        {
            return ParseResult.Invalid;
        }
        if (data.Length < length)
        {
            return ParseResult.NeedMoreData();
        }
        switch (code)
        {
            case PostgresProtocol.SslRequestCode:
                _sslAsked = true;
                break;
            case PostgresProtocol.GssEncRequestCode:
                _gssAsked = true;
                break;
            case PostgresProtocol.Version3:
                _inStartup = true;
                var r = new PostgresWire(data[8..length]);
                while (!r.AtEnd && !r.Failed)
                {
                    string key = r.CString();
                    if (key.Length == 0)
                    {
                        break;
                    }
                    string value = r.CString();
                    switch (key)
                    {
                        case "user":
                            _user = value;
                            break;
                        case "database":
                            _database = value;
                            break;
                        case "application_name":
                            _application = value;
                            break;
                        default:
                            break;
                    }
                }
                break;
            case PostgresProtocol.CancelRequestCode:
                break;
            default:
                return ParseResult.Invalid;
        }
        return ParseResult.Success(length);
    }

    private ParseResult ParseBackend(ReadOnlySpan<byte> data, in StreamContext context)
    {
        if (_sslAsked || _gssAsked)
        {
            // The one-byte answer: 'N' refuses and the clear startup follows; 'S' (TLS) or 'G' (GSSAPI) encrypts.
            bool ssl = _sslAsked;
            _sslAsked = _gssAsked = false;
            switch (data[0])
            {
                case (byte)'N':
                    return ParseResult.Ignored(1);
                case (byte)'S' when ssl:
                    Switch = new ProtocolSwitch("tls", null);
                    return ParseResult.EndOfStream(1);
                case (byte)'G' when !ssl:
                    Switch = new ProtocolSwitch("gssenc", null);
                    return ParseResult.EndOfStream(1);
                default:
                    // An ErrorResponse from an old server, or no answer byte at all: read it as a message.
                    break;
            }
        }
        if (!PostgresWire.IsBackendType(data[0]))
        {
            return ParseResult.Invalid;
        }
        EndLostBefore(data[0], context.StartNs);
        if (!TryFrame(MessageKind.Response, data, out int length, out var skipped))
        {
            if (data[0] == (byte)'D' && skipped.Status != ParseStatus.Invalid && data.Length >= Header)
            {
                if (Current() is { } row)
                {
                    row.Rows++;
                }
            }
            return skipped;
        }
        var body = data.Slice(Header, length - 4);
        var r = new PostgresWire(body);
        long now = context.NowNs;
        switch ((char)data[0])
        {
            case 'C':
                {
                    string tag = HttpStrings.RecentUtf8(r.CStringBytes());
                    if (Current() is { } done)
                    {
                        done.Tag = tag;
                        if (RowsOf(tag) is { } n)
                        {
                            done.TagRows = (done.TagRows ?? 0) + n;
                        }
                    }
                    if (_pending.TryPeek(out var head) && head.Step == Step.Execute)
                    {
                        Report(_pending.Dequeue(), now);
                    }
                    break;
                }
            case 'I':
            case 's':
                if (_pending.TryPeek(out var e) && e.Step == Step.Execute)
                {
                    Report(_pending.Dequeue(), now);
                }
                break;
            case 'E':
                Error(ReadError(ref r), context);
                break;
            case 'G':
                Current()?.Copy = "in";
                break;
            case 'H':
                Current()?.Copy = "out";
                break;
            case 'A':
                {
                    int pid = r.Int32();
                    string channel = r.CString();
                    string payload = r.CString();
                    _ = pid;
                    sink.OnMessage(new PostgresExchange
                    {
                        StartNs = context.StartNs,
                        EndNs = now,
                        Notification = channel + ": " + payload,
                        Database = _database,
                        User = _user,
                        Application = _application,
                    });
                    break;
                }
            case 'Z':
                if (_inStartup)
                {
                    _inStartup = false;
                }
                else
                {
                    ReadyForQuery(context.StartNs, now);
                }
                break;
            default:
                break;
        }
        return ParseResult.Success(Header + length - 4);
    }

    /// <summary>
    /// A whole message's length (the Int32 after the type, which counts itself), or false with what to return:
    /// NeedMoreData for a partial one, the skip of a DataRow, CopyData or oversized message begun, Invalid.
    /// </summary>
    private bool TryFrame(MessageKind kind, ReadOnlySpan<byte> data, out int length, out ParseResult result)
    {
        length = 0;
        if (data.Length < Header)
        {
            result = ParseResult.NeedMoreData();
            return false;
        }
        int declared = BinaryPrimitives.ReadInt32BigEndian(data[1..]);
        if (declared < 4)
        {
            result = ParseResult.Invalid;
            return false;
        }
        bool skipBody = data[0] == (byte)'D' && kind == MessageKind.Response || data[0] == (byte)'d' || declared > MaxMessage;
        if (skipBody)
        {
            if (data[0] == (byte)'d')
            {
                Current()?.CopyBytes += declared - 4;
            }
            long total = Header + (long)declared - 4;
            int here = (int)Math.Min(total, data.Length);
            _skip[(int)kind] = total - here;
            result = _skip[(int)kind] > 0 ? ParseResult.NeedMoreData(here) : ParseResult.Ignored(here);
            return false;
        }
        if (data.Length < Header + declared - 4)
        {
            result = ParseResult.NeedMoreData();
            return false;
        }
        length = declared;
        result = default;
        return true;
    }

    /// <summary>Applies to the statement being answered: the oldest Query or Execute waiting.</summary>
    /// <summary>The statement the backend is answering: the first waiting that is not a Sync.</summary>
    private Pending? Current()
    {
        foreach (var p in _pending)
        {
            if (p.Step != Step.Sync)
            {
                return p;
            }
        }
        return null;
    }

    private void Error(SqlError error, in StreamContext context)
    {
        bool lost = _pending.TryPeek(out var head) && head.Step == Step.Lost;
        if (!_inStartup && head is not null && head.Step is Step.Simple or Step.Execute)
        {
            head.Error ??= error;
            if (head.Step == Step.Execute)
            {
                // The backend skips the rest up to Sync: those Executes never ran and are not reported.
                Report(_pending.Dequeue(), context.NowNs);
                while (_pending.TryPeek(out var next) && next.Step == Step.Execute)
                {
                    _pending.Dequeue();
                }
            }
            return;
        }
        // No statement waiting: a failed startup (authentication, unknown database) or a Parse/Bind before Sync;
        // or the answer to a statement lost in a gap, whose text is unknown.
        sink.OnMessage(new PostgresExchange
        {
            StartNs = context.StartNs,
            EndNs = context.NowNs,
            Query = _pending.Count > 0 && !_inStartup && !lost ? _lastParsed : null,
            Error = error,
            Database = _database,
            User = _user,
            Application = _application,
            Answered = true,
        });
    }

    private void ReadyForQuery(long startNs, long now)
    {
        _unownedReady |= _pending.Count == 0;
        while (_pending.TryPeek(out var p))
        {
            if (p.Step == Step.Lost)
            {
                if (p.Cycles == 0 && !p.OwesCycle && FirstCycleAfterLost() is { } sync && sync.SentNs <= startNs)
                {
                    EndLostWithFirstCycle(now);
                    return;
                }
                // Whether this ends the lost cycle or one more is decided by the next answer (EndLostBefore).
                p.Cycles++;
                return;
            }
            _pending.Dequeue();
            if (p.Step == Step.Simple)
            {
                Report(p, now);
                return;
            }
            if (p.Step == Step.Sync)
            {
                Free(p);
                return;
            }
        }
    }

    /// <summary>
    /// Whether an answer beginning at <paramref name="answerStartNs"/> is the lost stretch's. Until a ReadyForQuery
    /// it is (see <see cref="EndLostWithFirstCycle"/> for a stretch that held no Sync). After one, an answer that
    /// began after the first statement sent after the gap was complete is that statement's: the placeholder is
    /// done. An answer that began before cannot be that statement's (causality): it ends one more lost cycle.
    /// </summary>
    private bool AbsorbedByLost(long answerStartNs)
    {
        if (!_pending.TryPeek(out var head) || head.Step != Step.Lost)
        {
            return false;
        }
        if (head.Cycles == 0)
        {
            return true;
        }
        foreach (var p in _pending)
        {
            if (p.Step != Step.Lost)
            {
                return answerStartNs < p.SentNs;
            }
        }
        return true;
    }

    /// <summary>The first Query or Sync sent after the lost stretch at the head of the queue.</summary>
    private Pending? FirstCycleAfterLost()
    {
        foreach (var p in _pending)
        {
            if (p.Step is Step.Simple or Step.Sync)
            {
                return p;
            }
        }
        return null;
    }

    /// <summary>
    /// The stretch lost may have held no Sync (a batch of several Parse/Execute cut before its last Parse): then
    /// the first ReadyForQuery ends the lost statements and those sent after them up to the first Sync. It is
    /// taken so when that Sync was sent before the ReadyForQuery began, which a client that waits for answers
    /// does only then; a pipelining client can also have lost a whole cycle, and this guess errs towards too few
    /// statements waiting (answers nothing waits for are dropped, and pairing is right again once the connection
    /// is idle) rather than too many (which would stay one cycle behind for good). Those statements' answers
    /// cannot be told from the lost ones': they are reported unanswered.
    /// </summary>
    private void EndLostWithFirstCycle(long now)
    {
        DequeueLost();
        while (_pending.TryDequeue(out var p))
        {
            if (p.Step is Step.Simple or Step.Sync)
            {
                return;
            }
            Report(p, now, answered: false);
        }
    }

    /// <summary>Drops the lost-stretch placeholder when <paramref name="type"/>, an answer, is no longer its.</summary>
    private void EndLostBefore(byte type, long startNs)
    {
        // NoticeResponse, ParameterStatus and NotificationResponse come unasked: they answer nothing.
        if (type is (byte)'N' or (byte)'S' or (byte)'A' || AbsorbedByLost(startNs) || !_pending.TryPeek(out var head)
            || head.Step != Step.Lost)
        {
            return;
        }
        DequeueLost();
    }

    private void DequeueLost()
    {
        if (ReferenceEquals(_pending.Dequeue(), _freshLost))
        {
            _freshLost = null;
        }
    }

    private static SqlError ReadError(ref PostgresWire r)
    {
        string code = "";
        string message = "";
        while (!r.Failed && !r.AtEnd)
        {
            int field = r.Bytes(1) is [var b] ? b : 0;
            if (field == 0)
            {
                break;
            }
            string value = r.CString();
            if (field == 'C')
            {
                code = value;
            }
            else if (field == 'M')
            {
                message = value;
            }
        }
        return new SqlError(code, message);
    }

    /// <summary>The row count a CommandComplete tag ends with ("SELECT 3", "INSERT 0 3", "COPY 3").</summary>
    private static long? RowsOf(string tag)
    {
        int space = tag.LastIndexOf(' ');
        if (space < 0 || tag.AsSpan(0, tag.IndexOf(' ')) is not ("SELECT" or "INSERT" or "UPDATE" or "DELETE" or "MERGE" or "FETCH" or "MOVE" or "COPY"))
        {
            return null;
        }
        return long.TryParse(tag.AsSpan(space + 1), out long n) ? n : null;
    }

    private void Report(Pending p, long endNs, bool answered = true)
    {
        sink.OnMessage(Exchange(p, endNs, answered));
        if (p.Step is Step.Simple or Step.Execute)
        {
            Free(p);
        }
    }

    /// <summary>Keeps an entry done with for the next statement or Sync (a lost stretch's placeholder is never one).</summary>
    private void Free(Pending p)
    {
        if (_free.Count < MaxFree)
        {
            _free.Push(p);
        }
    }

    private const int MaxFree = 64;

    private Pending Rent(Step step, in StreamContext context, string? query)
    {
        var p = _free.TryPop(out var reused) ? reused : new Pending();
        p.Reset();
        p.Step = step;
        p.Query = query;
        p.StartNs = context.StartNs;
        p.SentNs = context.NowNs;
        return p;
    }

    /// <summary>A statement or portal by its name as sent, without making a string of it.</summary>
    private static T? Find<T>(Dictionary<string, T> names, ReadOnlySpan<byte> name)
        where T : class
    {
        // Names are at most NAMEDATALEN (64) bytes; a longer one is looked up the slow way.
        Span<char> chars = stackalloc char[128];
        if (name.Length > chars.Length)
        {
            return names.GetValueOrDefault(Encoding.UTF8.GetString(name));
        }
        int n = Encoding.UTF8.GetChars(name, chars);
        return names.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars[..n], out var value) ? value : null;
    }

    /// <summary>The statement's exchange: the connection's one, refilled, for a sink done with each message when it returns.</summary>
    private PostgresExchange Exchange(Pending p, long endNs, bool answered) =>
        Refillable.Next(_reuse, ref _exchange, NewExchange).Fill(
            p.StartNs, endNs, p.Query, p.Params, p.ParamValues, p.TagRows ?? (p.Rows > 0 ? p.Rows : null), p.Tag, p.Error, p.Copy,
            p.CopyBytes, _database, _user, _application, answered);

    // Fill sets the times as every other field.
    private static readonly Func<PostgresExchange> NewExchange = static () => new() { StartNs = 0, EndNs = 0 };

    public int FindFrameBoundary(MessageKind kind, ReadOnlySpan<byte> data)
    {
        // Backend: just after a ReadyForQuery, the next answer starts clean. Frontend: a whole Query or Parse.
        for (int i = 0; i + Header <= data.Length; i++)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(data[(i + 1)..]);
            if (kind == MessageKind.Response)
            {
                if (data[i] == (byte)'Z' && length == 5 && i + 6 <= data.Length && data[i + 5] is (byte)'I' or (byte)'T' or (byte)'E')
                {
                    return i + 6 == data.Length ? -1 : i + 6;
                }
            }
            else if (data[i] is (byte)'Q' or (byte)'P' && length is > 4 and <= MaxMessage
                && i + 1 + length <= data.Length && data[i + length] == 0)
            {
                return i;
            }
        }
        return -1;
    }

    public bool OnGap(MessageKind kind, long bytes, long nowNs)
    {
        ref long skip = ref _skip[(int)kind];
        if (skip >= bytes)
        {
            skip -= bytes;
            return true;
        }
        skip = 0;
        if (kind == MessageKind.Request)
        {
            // What was sent before the hole is intact and still to be answered, in order (pipelined); a
            // placeholder stands for what was lost and absorbs its answers.
            bool cutCycle = _partialFrontend is (byte)'Q' or (byte)'S';
            _partialFrontend = 0;
            if (_pending.Count == 0 && _unownedReady)
            {
                // A gap is told when the bytes after it arrive: a client that waits for each answer has had what
                // was lost answered already (a ReadyForQuery nothing waited for), so nothing is owed.
                return false;
            }
            if (_freshLost is null)
            {
                _freshLost = new Pending { Step = Step.Lost, StartNs = nowNs };
                _pending.Enqueue(_freshLost);
            }
            _freshLost.OwesCycle |= cutCycle;
            return false;
        }
        // What is waiting may have been answered in the bytes lost: report it unanswered rather than mispair.
        Flush(nowNs);
        return false;
    }

    public void OnClose(long nowNs) => Flush(nowNs);

    private void Flush(long nowNs)
    {
        _freshLost = null;
        while (_pending.TryDequeue(out var p))
        {
            if (p.Step is Step.Simple or Step.Execute)
            {
                Report(p, nowNs, answered: false);
            }
        }
    }
}
