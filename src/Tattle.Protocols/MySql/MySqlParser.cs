using Tattle.Protocols.Common;
using Tattle.Protocols.Sql;

namespace Tattle.Protocols.MySql;

/// <summary>
/// Reads both directions of a MySQL/MariaDB connection: the server's greeting, the client's login, then commands
/// and their answers. The server answers commands in order, so the commands waiting form a FIFO; each answer's
/// packets carry the sequence ids that follow the command's. Row values and authentication data are never read:
/// row packets are counted and skipped as they arrive, never buffered.
/// </summary>
internal sealed class MySqlParser(ParserOptions options, IMessageSink sink) : IProtocolParser
{
    /// <summary>The largest payload read whole; a longer packet is skipped (a command keeps its first bytes).</summary>
    public const int MaxPacket = 1 << 20;

    public const byte ComQuery = 0x03;

    /// <summary>A payload of this length continues in the next packet (protocol: "sending more than 16 MB").</summary>
    private const int Continues = 0xFFFFFF;

    /// <summary>Bytes of an oversized command read for its SQL text (the rest is skipped).</summary>
    private const int MaxCommandHead = 4096;

    /// <summary>Prepared statements remembered per connection; more are dropped all at once (a leak guard).</summary>
    private const int MaxStatements = 1024;

    private const int Header = 4;

    private const string MariaDbPrefix = "5.5.5-";

    private const uint ClientConnectWithDb = 0x8;
    private const uint ClientCompress = 0x20;
    private const uint ClientProtocol41 = 0x200;
    private const uint ClientSsl = 0x800;
    private const uint ClientSecureConnection = 0x8000;
    private const uint ClientPluginAuth = 0x80000;
    private const uint ClientConnectAttrs = 0x100000;
    private const uint ClientLengthEncodedAuthData = 0x200000;
    private const uint ClientDeprecateEof = 0x1000000;

    /// <summary>MariaDB's extended capability (the last 4 filler bytes): column definitions may be omitted.</summary>
    private const uint MariaDbCacheMetadata = 0x10;

    private const int ServerMoreResultsExist = 0x8;

    private const byte ComQuit = 0x01;
    private const byte ComInitDb = 0x02;
    private const byte ComChangeUser = 0x11;
    private const byte ComStmtPrepare = 0x16;
    private const byte ComStmtExecute = 0x17;
    private const byte ComStmtSendLongData = 0x18;
    private const byte ComStmtClose = 0x19;
    private const byte ComStmtReset = 0x1A;
    private const byte ComStmtFetch = 0x1C;

    private enum Phase : byte
    {
        /// <summary>Nothing from the server yet: a greeting, or (joined mid-way) answers to commands.</summary>
        Start,
        Auth,
        Commands,
    }

    private enum Await : byte
    {
        First,
        Columns,
        Rows,
        Prepared,
        /// <summary>LOCAL INFILE or a new login: the client sends packets too, until the server's OK or ERR.</summary>
        Exchange,
    }

    private enum Kind : byte
    {
        Query,
        Execute,
        Prepare,
        Other,
    }

    /// <summary>A command waiting for its answer, and what of the answer has been read.</summary>
    private sealed class Pending
    {
        public Kind Kind;
        public string? Command;
        public string? Query;
        public string? Argument;
        public int Params;
        public long StartNs;
        public byte NextSeq = 1;
        public Await Await;

        /// <summary>Definitions (and their EOFs) still to come before the rows or the end of a preparation.</summary>
        public long Left;
        public long Rows;
        public bool ResultSet;
        public long Affected;
        public bool Ok;
        public SqlError? Error;
    }

    private sealed record Statement(string? Sql, int Params);

    private readonly Queue<Pending> _pending = new();
    private readonly Dictionary<uint, Statement> _statements = [];
    private Statement? _lastPrepared;

    /// <summary>The command whose packet was read last, if it waits for an answer: a long one's pieces move its ids.</summary>
    private Pending? _lastCommand;

    /// <summary>The last command answered, kept for the next one.</summary>
    private Pending? _spare;

    private readonly LastStatement _lastStatement = new(SqlDialect.MySql, options.Redact);

    /// <summary>The sink is done with each message when it returns: the parser refills <see cref="_exchange"/>.</summary>
    private readonly bool _reuse = sink.ConsumesAtOnce;
    private MySqlExchange? _exchange;

    /// <summary>Per direction: bytes of a packet still to skip, and whether a continuation packet follows it.</summary>
    private readonly long[] _skip = [0, 0];
    private readonly bool[] _continued = [false, false];

    private Phase _phase;
    private bool _loginSeen;
    private uint _serverCaps = uint.MaxValue;
    private uint _clientCaps;
    private uint _clientExtCaps;
    private string? _user;
    private string? _database;
    private string? _application;
    private string? _server;

    public string Name => "mysql";

    public ProtocolSwitch? Switch { get; private set; }

    private uint Caps => _clientCaps & _serverCaps;

    private bool DeprecateEof => (Caps & ClientDeprecateEof) != 0;

    public ParseResult Parse(MessageKind kind, ReadOnlySpan<byte> data, in StreamContext context)
    {
        if (Switch is not null)
        {
            return ParseResult.EndOfStream(0);
        }
        int k = (int)kind;
        if (_skip[k] > 0)
        {
            int n = (int)Math.Min(_skip[k], data.Length);
            _skip[k] -= n;
            return _skip[k] > 0 ? ParseResult.NeedMoreData(n) : ParseResult.Ignored(n);
        }
        if (data.Length < Header)
        {
            return ParseResult.NeedMoreData();
        }
        int length = data[0] | data[1] << 8 | data[2] << 16;
        byte seq = data[3];
        if (_continued[k])
        {
            // The next piece of a packet longer than 16 MB: its bytes belong to what the first piece began, and the
            // answer's sequence ids go on from its id.
            var p = kind == MessageKind.Request ? _lastCommand : _pending.TryPeek(out var head) ? head : null;
            if (p is not null)
            {
                p.NextSeq = (byte)(seq + 1);
            }
            return Skip(kind, data, length, ParseResult.Ignored(0));
        }
        return kind == MessageKind.Request ? ParseRequest(data, length, seq, context) : ParseResponse(data, length, seq, context);
    }

    /// <summary>
    /// Consumes a packet of <paramref name="length"/> payload bytes as far as <paramref name="data"/> goes and skips
    /// the rest as it arrives; a 0xFFFFFF-long payload continues in the next packet. Returns
    /// <paramref name="done"/>'s status once the packet is used up, NeedMoreData before.
    /// </summary>
    private ParseResult Skip(MessageKind kind, ReadOnlySpan<byte> data, int length, ParseResult done)
    {
        int k = (int)kind;
        long total = Header + (long)length;
        int here = (int)Math.Min(total, data.Length);
        _skip[k] = total - here;
        _continued[k] = length == Continues;
        if (_skip[k] > 0)
        {
            return ParseResult.NeedMoreData(here);
        }
        return done.Status == ParseStatus.Success ? ParseResult.Success(here) : ParseResult.Ignored(here);
    }

    private ParseResult ParseRequest(ReadOnlySpan<byte> data, int length, byte seq, in StreamContext context)
    {
        if (seq != 0)
        {
            if (seq == 1 && !_loginSeen)
            {
                return Login(data, length);
            }
            // Authentication data, LOCAL INFILE contents: never read.
            return Skip(MessageKind.Request, data, length, ParseResult.Ignored(0));
        }
        if (_loginSeen && (Caps & ClientCompress) != 0)
        {
            return Compressed(context.StartNs, context.NowNs);
        }
        if (length == 0 || !IsCommand(data[Header..]))
        {
            return length == 0 || data.Length > Header ? ParseResult.Invalid : ParseResult.NeedMoreData();
        }
        int need = length > MaxPacket ? MaxCommandHead : length;
        if (data.Length < Header + need)
        {
            return ParseResult.NeedMoreData();
        }
        Command(data.Slice(Header, need), need < length, context.StartNs);
        return Skip(MessageKind.Request, data, length, ParseResult.Success(0));
    }

    private static bool IsCommand(ReadOnlySpan<byte> payload) => payload.IsEmpty || payload[0] <= 0x1F || payload[0] == 0xFA;

    /// <summary>HandshakeResponse41, or the SSLRequest that asks for TLS before it.</summary>
    private ParseResult Login(ReadOnlySpan<byte> data, int length)
    {
        if (length > MaxPacket)
        {
            _loginSeen = true;
            return Skip(MessageKind.Request, data, length, ParseResult.Ignored(0));
        }
        if (data.Length < Header + length)
        {
            return ParseResult.NeedMoreData();
        }
        var r = new MySqlWire(data.Slice(Header, length));
        uint caps = r.Int32();
        if ((caps & ClientProtocol41) == 0)
        {
            // A pre-4.1 login (HandshakeResponse320): nothing of it is reported.
            _loginSeen = true;
            return ParseResult.Ignored(Header + length);
        }
        r.Skip(4 + 1 + 19);
        uint ext = r.Int32();
        if (length == 32 && (caps & ClientSsl) != 0)
        {
            Switch = new ProtocolSwitch("tls", null);
            return ParseResult.EndOfStream(Header + length);
        }
        _loginSeen = true;
        _clientCaps = caps;
        _clientExtCaps = (caps & 1) == 0 ? ext : 0;
        string user = r.CString();
        if ((caps & ClientLengthEncodedAuthData) != 0)
        {
            r.Skip(r.LengthEncoded());
        }
        else if ((caps & ClientSecureConnection) != 0)
        {
            r.Skip((ulong)r.Int8());
        }
        else
        {
            r.SkipCString();
        }
        string? database = (caps & ClientConnectWithDb) != 0 ? r.CString() : null;
        if ((caps & ClientPluginAuth) != 0)
        {
            r.SkipCString();
        }
        string? application = (caps & ClientConnectAttrs) != 0 && !r.Failed ? ProgramName(ref r) : null;
        if (r.Failed && user.Length == 0)
        {
            return ParseResult.Invalid;
        }
        _user = user;
        _database = string.IsNullOrEmpty(database) ? _database : database;
        _application = application ?? _application;
        return ParseResult.Success(Header + length);
    }

    /// <summary>The program_name among the connection attributes (length-encoded key/value strings).</summary>
    private static string? ProgramName(ref MySqlWire r)
    {
        ulong total = r.LengthEncoded();
        var attrs = new MySqlWire(r.Take((int)Math.Min(total, MaxPacket)));
        while (!attrs.AtEnd && !attrs.Failed)
        {
            string key = attrs.LengthEncodedString();
            string value = attrs.LengthEncodedString();
            if (key == "program_name" && !attrs.Failed)
            {
                return value;
            }
        }
        return null;
    }

    private void Command(ReadOnlySpan<byte> payload, bool cut, long startNs)
    {
        byte command = payload[0];
        var args = payload[1..];
        var r = new MySqlWire(args);
        Pending? p = null;
        switch (command)
        {
            case ComQuit:
            case ComStmtSendLongData:
                break;
            case ComQuery:
                p = Next(Kind.Query, query: StatementText(args, cut));
                break;
            case ComStmtPrepare:
                p = Next(Kind.Prepare, query: StatementText(args, cut), command: "COM_STMT_PREPARE", awaiting: Await.First);
                break;
            case ComStmtExecute:
                {
                    var s = Find(r.Int32());
                    p = Next(Kind.Execute, query: s?.Sql, parameters: s?.Params ?? 0);
                    break;
                }
            case ComStmtFetch:
                {
                    // Rows of an open cursor, with no column definitions before them.
                    var s = Find(r.Int32());
                    p = Next(Kind.Execute, query: s?.Sql, parameters: s?.Params ?? 0, command: "COM_STMT_FETCH", awaiting: Await.Rows, resultSet: true);
                    break;
                }
            case ComStmtClose:
                {
                    uint id = r.Int32();
                    if (!r.Failed)
                    {
                        _statements.Remove(id);
                    }
                    break;
                }
            case ComStmtReset:
                p = Next(Kind.Other, command: "COM_STMT_RESET", query: Find(r.Int32())?.Sql);
                break;
            case ComInitDb:
                p = Next(Kind.Other, command: "COM_INIT_DB", argument: Text(args, cut));
                break;
            case ComChangeUser:
                {
                    // The login starts over: the plugin's exchange (sequence ids bumped by the client's packets
                    // too) until an OK or ERR.
                    string user = r.CString();
                    if (!r.Failed)
                    {
                        _user = user;
                    }
                    p = Next(Kind.Other, command: "COM_CHANGE_USER", awaiting: Await.Exchange);
                    break;
                }
            default:
                p = Next(Kind.Other, command: CommandName(command));
                break;
        }
        if (p is not null)
        {
            p.StartNs = startNs;
            _pending.Enqueue(p);
        }
        _lastCommand = p;
    }

    /// <summary>A spare <see cref="Pending"/> made ready, or a new one: a command costs no allocation of its own.</summary>
    private Pending Next(Kind kind, string? command = null, string? query = null, int parameters = 0, Await awaiting = Await.First, bool resultSet = false, string? argument = null)
    {
        var p = _spare ?? new Pending();
        _spare = null;
        p.Kind = kind;
        p.Command = command;
        p.Query = query;
        p.Argument = argument;
        p.Params = parameters;
        p.NextSeq = 1;
        p.Await = awaiting;
        p.Left = 0;
        p.Rows = 0;
        p.ResultSet = resultSet;
        p.Affected = 0;
        p.Ok = false;
        p.Error = null;
        return p;
    }

    private Statement? Find(uint id)
    {
        // MariaDB's id -1 is "the statement just prepared" (COM_STMT_PREPARE and EXECUTE sent together).
        if (id == uint.MaxValue)
        {
            return _lastPrepared;
        }
        return _statements.GetValueOrDefault(id);
    }

    /// <summary>A statement's text, its passwords redacted unless --no-redact (before the mark of a cut, which ends no string).</summary>
    private string StatementText(ReadOnlySpan<byte> bytes, bool cut) =>
        cut ? _lastStatement.Redact(System.Text.Encoding.UTF8.GetString(bytes)) + "…" : _lastStatement.Shown(bytes);

    private static string Text(ReadOnlySpan<byte> bytes, bool cut) =>
        System.Text.Encoding.UTF8.GetString(bytes) + (cut ? "…" : "");

    private static string CommandName(byte command) => command switch
    {
        0x00 => "COM_SLEEP",
        0x04 => "COM_FIELD_LIST",
        0x05 => "COM_CREATE_DB",
        0x06 => "COM_DROP_DB",
        0x07 => "COM_REFRESH",
        0x08 => "COM_SHUTDOWN",
        0x09 => "COM_STATISTICS",
        0x0A => "COM_PROCESS_INFO",
        0x0C => "COM_PROCESS_KILL",
        0x0D => "COM_DEBUG",
        0x0E => "COM_PING",
        0x1B => "COM_SET_OPTION",
        0x1F => "COM_RESET_CONNECTION",
        0xFA => "COM_STMT_BULK_EXECUTE",
        _ => $"COM_0x{command:X2}",
    };

    private ParseResult ParseResponse(ReadOnlySpan<byte> data, int length, byte seq, in StreamContext context)
    {
        if (_phase == Phase.Start)
        {
            if (data.Length == Header)
            {
                // A greeting or not: its first byte decides.
                return ParseResult.NeedMoreData();
            }
            if (seq == 0 && data.Length > Header && data[Header] is MySqlProtocol.HandshakeV10 or 0xFF)
            {
                return Whole(data, length, out var greeting) ? Greeting(greeting, length, context) : Partial(data, length);
            }
            _phase = Phase.Commands;
        }
        if (_phase == Phase.Auth)
        {
            return Whole(data, length, out var auth) ? Auth(auth, length, context) : Partial(data, length);
        }
        if (!_pending.TryPeek(out var p))
        {
            // An answer to nothing known (tracing began mid-way): passed over.
            return Skip(MessageKind.Response, data, length, ParseResult.Ignored(0));
        }
        if (seq != p.NextSeq && p.Await != Await.Exchange)
        {
            // Out of step: whatever is waiting cannot be paired; the stream resyncs at the next answer's start.
            Report(_pending.Dequeue(), context.NowNs, answered: false);
            return ParseResult.Invalid;
        }
        if (p.Await == Await.Rows && length > 0 && data.Length > Header && !IsEnd(data[Header], length))
        {
            // A row (text or binary): counted, never read.
            p.NextSeq = (byte)(seq + 1);
            p.Rows++;
            return Skip(MessageKind.Response, data, length, ParseResult.Success(0));
        }
        if (length > MaxPacket)
        {
            p.NextSeq = (byte)(seq + 1);
            if (p.Await is Await.Columns or Await.Prepared)
            {
                Definition(p, context.NowNs);
            }
            return Skip(MessageKind.Response, data, length, ParseResult.Ignored(0));
        }
        if (data.Length < Header + length)
        {
            return ParseResult.NeedMoreData();
        }
        p.NextSeq = (byte)(seq + 1);
        Answer(p, data.Slice(Header, length), context.NowNs);
        return ParseResult.Success(Header + length);
    }

    /// <summary>A row packet's first byte 0xFE in a packet shorter than 16 MB is an EOF or OK; 0xFF is an ERR.</summary>
    private static bool IsEnd(byte first, int length) => first == 0xFF || first == 0xFE && length < Continues;

    private static bool Whole(ReadOnlySpan<byte> data, int length, out ReadOnlySpan<byte> payload)
    {
        payload = length <= MaxPacket && data.Length >= Header + length ? data.Slice(Header, length) : default;
        return length <= MaxPacket && data.Length >= Header + length;
    }

    /// <summary>A login-time packet not whole yet, or too long to read (skipped).</summary>
    private ParseResult Partial(ReadOnlySpan<byte> data, int length) =>
        length > MaxPacket ? Skip(MessageKind.Response, data, length, ParseResult.Ignored(0)) : ParseResult.NeedMoreData();

    private ParseResult Greeting(ReadOnlySpan<byte> payload, int length, in StreamContext context)
    {
        if (payload.IsEmpty)
        {
            return ParseResult.Invalid;
        }
        if (payload[0] == 0xFF)
        {
            // Refused before any login (too many connections, host blocked).
            ReportAlone(ReadError(payload), context);
            _phase = Phase.Commands;
            return ParseResult.Success(Header + length);
        }
        var r = new MySqlWire(payload[1..]);
        string version = r.CString();
        r.Skip(4 + 8 + 1);
        uint caps = (uint)r.Int16();
        r.Skip(1 + 2);
        caps |= (uint)r.Int16() << 16;
        if (r.Failed)
        {
            return ParseResult.Invalid;
        }
        // MariaDB puts "5.5.5-" before its version for replication clients of old; clients strip it.
        _server = version.StartsWith(MariaDbPrefix, StringComparison.Ordinal) && version.Contains("MariaDB", StringComparison.Ordinal)
            ? version[MariaDbPrefix.Length..]
            : version;
        _serverCaps = caps;
        _phase = Phase.Auth;
        return ParseResult.Success(Header + length);
    }

    private ParseResult Auth(ReadOnlySpan<byte> payload, int length, in StreamContext context)
    {
        switch (payload.IsEmpty ? -1 : payload[0])
        {
            case 0x00:
                _phase = Phase.Commands;
                if ((Caps & ClientCompress) != 0)
                {
                    return Compressed(context.StartNs, context.NowNs);
                }
                break;
            case 0xFF:
                ReportAlone(ReadError(payload), context);
                break;
            default:
                // AuthSwitchRequest (0xFE), AuthMoreData (0x01): the plugin's exchange, never read.
                return ParseResult.Ignored(Header + length);
        }
        return ParseResult.Success(Header + length);
    }

    /// <summary>One packet of a command's answer, read whole.</summary>
    private void Answer(Pending p, ReadOnlySpan<byte> payload, long now)
    {
        byte first = payload.IsEmpty ? (byte)0 : payload[0];
        switch (p.Await)
        {
            case Await.First:
            case Await.Exchange:
                First(p, payload, now);
                break;
            case Await.Columns:
            case Await.Prepared:
                Definition(p, now);
                break;
            case Await.Rows:
                if (first == 0xFF)
                {
                    Fail(p, payload, now);
                }
                else
                {
                    // EOF (5 bytes: warnings, status) or, with CLIENT_DEPRECATE_EOF, an OK with the 0xFE header.
                    int status = payload.Length == 5 ? new MySqlWire(payload[3..]).Int16() : Ok(payload[1..]).Status;
                    End(p, status, now);
                }
                break;
            default:
                break;
        }
    }

    private void First(Pending p, ReadOnlySpan<byte> payload, long now)
    {
        byte first = payload.IsEmpty ? (byte)0xFE : payload[0];
        if (p.Await == Await.Exchange && first is not (0x00 or 0xFF))
        {
            return;
        }
        if (first == 0xFF)
        {
            if (payload.Length >= 3 && payload[1] == 0xFF && payload[2] == 0xFF)
            {
                // MariaDB's progress report (error code 0xFFFF): the answer goes on.
                return;
            }
            Fail(p, payload, now);
            return;
        }
        if (first == 0xFB && p.Kind == Kind.Query)
        {
            // LOCAL INFILE: the client sends the file, then the server's OK or ERR ends the command.
            p.Await = Await.Exchange;
            return;
        }
        if (first == 0x00 && p.Kind == Kind.Prepare && payload.Length >= 12)
        {
            var r = new MySqlWire(payload[1..]);
            uint id = r.Int32();
            int columns = r.Int16();
            int parameters = r.Int16();
            if (_statements.Count >= MaxStatements && !_statements.ContainsKey(id))
            {
                _statements.Clear();
            }
            _lastPrepared = _statements[id] = new Statement(p.Query, parameters);
            p.Left = Definitions(parameters) + Definitions(columns);
            p.Await = Await.Prepared;
            if (p.Left == 0)
            {
                Finish(p, now);
            }
            return;
        }
        if (first is 0x00 or 0xFE || p.Kind is Kind.Other or Kind.Prepare)
        {
            // OK (EOF from an old server); any single packet answers the other commands (COM_STATISTICS' text).
            var ok = first is 0x00 or 0xFE && payload.Length >= 7 ? Ok(payload[1..]) : default;
            p.Ok = true;
            p.Affected += ok.Affected;
            End(p, ok.Status, now);
            return;
        }
        var columnCount = new MySqlWire(payload);
        long count = (long)Math.Min(columnCount.LengthEncoded(), int.MaxValue);
        bool metadata = (_clientExtCaps & MariaDbCacheMetadata) == 0 || columnCount.Int8() != 0;
        p.ResultSet = true;
        p.Left = metadata ? Definitions(count) : 0;
        p.Await = p.Left > 0 ? Await.Columns : Await.Rows;
    }

    /// <summary>Packets a list of definitions takes: each, and an EOF after them unless CLIENT_DEPRECATE_EOF.</summary>
    private long Definitions(long count) => count == 0 ? 0 : count + (DeprecateEof ? 0 : 1);

    /// <summary>
    /// A column or parameter definition, or the EOF after a list of them: when none is left, rows follow a result
    /// set's definitions, and a prepared statement's answer is over.
    /// </summary>
    private void Definition(Pending p, long now)
    {
        if (--p.Left > 0)
        {
            return;
        }
        if (p.Await == Await.Prepared)
        {
            Finish(p, now);
        }
        else
        {
            p.Await = Await.Rows;
        }
    }

    private void Fail(Pending p, ReadOnlySpan<byte> payload, long now)
    {
        p.Error = ReadError(payload);
        Finish(p, now);
    }

    /// <summary>The end of a result or an OK: another result follows when the server says more exist.</summary>
    private void End(Pending p, int status, long now)
    {
        if ((status & ServerMoreResultsExist) != 0)
        {
            p.Await = Await.First;
            return;
        }
        Finish(p, now);
    }

    private void Finish(Pending p, long now)
    {
        if (_pending.TryPeek(out var head) && ReferenceEquals(head, p))
        {
            _pending.Dequeue();
        }
        if (p.Command == "COM_INIT_DB" && p.Error is null)
        {
            _database = p.Argument;
        }
        // A statement prepared: its executions are reported, not the preparation.
        if (p.Kind != Kind.Prepare || p.Error is not null)
        {
            Report(p, now, answered: true);
        }
        if (ReferenceEquals(_lastCommand, p))
        {
            _lastCommand = null;
        }
        _spare = p;
    }

    private readonly record struct OkFields(long Affected, int Status);

    /// <summary>An OK packet's fields after its header byte: affected rows, last insert id, status flags.</summary>
    private static OkFields Ok(ReadOnlySpan<byte> fields)
    {
        var r = new MySqlWire(fields);
        long affected = (long)Math.Min(r.LengthEncoded(), long.MaxValue);
        r.LengthEncoded();
        int status = r.Int16();
        return r.Failed ? default : new OkFields(affected, status);
    }

    /// <summary>ERR: the error number, '#' and the SQLSTATE (protocol 4.1), then the message.</summary>
    private static SqlError ReadError(ReadOnlySpan<byte> payload)
    {
        var r = new MySqlWire(payload[1..]);
        int number = r.Int16();
        string state = "HY000";
        var rest = payload.Length > 3 ? payload[3..] : [];
        if (rest.Length >= 6 && rest[0] == (byte)'#')
        {
            state = System.Text.Encoding.ASCII.GetString(rest[1..6]);
            r.Skip(6);
        }
        return new SqlError(state, r.Rest()) { Number = number };
    }

    private ParseResult Compressed(long startNs, long nowNs)
    {
        Switch = new ProtocolSwitch("mysql-compressed", null);
        sink.OnMessage(Exchange(startNs, nowNs) with { Compressed = true });
        return ParseResult.EndOfStream(0);
    }

    /// <summary>An error with no command waiting: the greeting or the login refused.</summary>
    private void ReportAlone(SqlError error, in StreamContext context) =>
        sink.OnMessage(Exchange(context.StartNs, context.NowNs) with { Error = error, Answered = true });

    private MySqlExchange Exchange(long startNs, long endNs) => new()
    {
        StartNs = startNs,
        EndNs = endNs,
        Database = _database,
        User = _user,
        Application = _application,
        Server = _server,
    };

    /// <summary>A command's exchange: the connection's one, refilled, for a sink done with each message when it returns.</summary>
    private void Report(Pending p, long endNs, bool answered) => sink.OnMessage(
        Refillable.Next(_reuse, ref _exchange, NewExchange).Fill(
            p.StartNs, endNs, p.Query, p.Params, p.ResultSet ? p.Rows : p.Ok ? p.Affected : null,
            p.Ok && !p.ResultSet && p.Error is null ? "OK" : null, p.Error, p.Command, answered, _database, _user, _application, _server));

    // Fill sets the times as every other field.
    private static readonly Func<MySqlExchange> NewExchange = static () => new() { StartNs = 0, EndNs = 0 };

    public int FindFrameBoundary(MessageKind kind, ReadOnlySpan<byte> data)
    {
        // Responses: a whole OK or ERR answering a command (sequence 1), or the start of a result set. Requests: a
        // whole COM_QUERY or COM_STMT_PREPARE (sequence 0) of printable text.
        for (int i = 0; i + Header < data.Length; i++)
        {
            int length = data[i] | data[i + 1] << 8 | data[i + 2] << 16;
            if (length == 0 || length > MaxPacket || i + Header + length > data.Length)
            {
                continue;
            }
            var payload = data.Slice(i + Header, length);
            bool start = kind == MessageKind.Response
                ? data[i + 3] == 1 && (payload[0] == 0x00 && length >= 7 || payload[0] == 0xFF && length >= 9 || ResultSetStart(data[i..]))
                : data[i + 3] == 0 && payload[0] is ComQuery or ComStmtPrepare && length > 1 && payload[1..].IndexOfAnyInRange((byte)0, (byte)8) < 0;
            if (start)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>A column count (one byte) with sequence id 1, then a column definition of catalog "def" with id 2.</summary>
    private static bool ResultSetStart(ReadOnlySpan<byte> data) =>
        data.Length >= 13 && data[0] == 1 && data[1] == 0 && data[2] == 0 && data[4] is > 0 and < 0xFB
        && data[8] == 2 && data.Slice(9, 4).SequenceEqual("\u0003def"u8);

    public bool OnGap(MessageKind kind, long bytes, long nowNs)
    {
        int k = (int)kind;
        if (_skip[k] >= bytes)
        {
            _skip[k] -= bytes;
            return true;
        }
        _skip[k] = 0;
        _continued[k] = false;
        // What is waiting may have been answered in the bytes lost: report it unanswered rather than mispair.
        while (_pending.TryDequeue(out var p))
        {
            Report(p, nowNs, answered: false);
        }
        _phase = Phase.Commands;
        return false;
    }

    public void OnClose(long nowNs)
    {
        while (_pending.TryDequeue(out var p))
        {
            Report(p, nowNs, answered: false);
        }
    }
}
