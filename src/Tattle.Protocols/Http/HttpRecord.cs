using System.Globalization;
using System.Text;
using System.Text.Json;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http2;
using Tattle.Records;
using Tattle.Records.Json;
using Tattle.Records.Live;

namespace Tattle.Protocols.Http;

/// <summary>An HTTP request with its response (either may be missing: see the fields' nullability).</summary>
public sealed partial record HttpRecord : MessageRecord
{
    public HttpRecord()
    {
    }

    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public HttpRecord(in MessageHeader header)
        : base(in header)
    {
    }

    /// <summary>
    /// The record a message of the connection fills: its last one again when every sink was done with it on return
    /// (<see cref="IMessageContext.SpareRecord"/>), else a record of its own.
    /// </summary>
    internal static HttpRecord ToFill(IMessageContext context, in MessageHeader header) =>
        context.SpareRecord as HttpRecord ?? new HttpRecord(in header);

    // Fields of their own: an HTTP/1 exchange or HTTP/2 stream fills its record, and refills the connection's last one
    // for sinks that consume at once (../Http1/HttpRecordFill.cs, ../Http2/Http2RecordFill.cs).
    private bool _tls;
    private string? _sni;
    private string? _tlsSession;
    private string? _method;
    private string? _path;
    private string? _host;
    private string? _version;
    private int? _status;
    private long? _reqBytes;
    private long? _respBytes;
    private IReadOnlyList<HttpHeader>? _reqHeaders;
    private IReadOnlyList<HttpHeader>? _respHeaders;
    private ReadOnlyMemory<byte> _reqBody;
    private ReadOnlyMemory<byte> _respBody;
    private string? _reqContentEncoding;
    private string? _respContentEncoding;
    private string? _upgrade;
    private IReadOnlyList<int> _interim = [];
    private long _unseenBytes;
    private IReadOnlyList<HttpHeader>? _trailers;
    private bool _truncated;
    private int? _stream;
    private Http2StreamError? _error;
    private bool _headersIncomplete;
    private int? _promisedBy;
    private GrpcCall? _grpc;
    private bool _inKernel;

    public override string Type => "http";

    public override string? Operation => Method;

    public override string? Route => HttpRoute.Template(Path);

    public override int? StatusCode => Status;

    public override bool RequestUnseen => Method is null && Status is not null;

    public override (long Request, long Response) WireBytes => (ReqBytes ?? 0, RespBytes ?? 0);

    /// <summary>Read as TLS plaintext (uprobes) rather than from the socket.</summary>
    public bool Tls { get => _tls; init => _tls = value; }

    /// <summary>TLS: the server name of the connection's handshake, when it was seen.</summary>
    public string? Sni { get => _sni; init => _sni = value; }

    /// <summary>TLS plaintext whose socket was never found: the library's session object ("0x…") names it instead.</summary>
    public string? TlsSession { get => _tlsSession; init => _tlsSession = value; }

    public string? Method { get => _method; init => _method = value; }

    /// <summary>The request-target as sent, query string included (secrets redacted unless --no-redact).</summary>
    public string? Path { get => _path; init => _path = value; }

    public string? Host { get => _host; init => _host = value; }

    public string? Version { get => _version; init => _version = value; }

    public int? Status { get => _status; init => _status = value; }

    /// <summary>Head plus body bytes of the request as sent on the wire.</summary>
    public long? ReqBytes { get => _reqBytes; init => _reqBytes = value; }

    public long? RespBytes { get => _respBytes; init => _respBytes = value; }

    public IReadOnlyList<HttpHeader>? ReqHeaders { get => _reqHeaders; init => _reqHeaders = value; }

    public IReadOnlyList<HttpHeader>? RespHeaders { get => _respHeaders; init => _respHeaders = value; }

    /// <summary>The first body bytes, up to --body-limit (empty by default).</summary>
    public ReadOnlyMemory<byte> ReqBody { get => _reqBody; init => _reqBody = value; }

    public ReadOnlyMemory<byte> RespBody { get => _respBody; init => _respBody = value; }

    public string? ReqContentEncoding { get => _reqContentEncoding; init => _reqContentEncoding = value; }

    public string? RespContentEncoding { get => _respContentEncoding; init => _respContentEncoding = value; }

    /// <summary>The protocol the connection switched to after 101 (websocket, h2c).</summary>
    public string? Upgrade { get => _upgrade; init => _upgrade = value; }

    /// <summary>Interim responses before the final one (100).</summary>
    public IReadOnlyList<int> Interim { get => _interim; init => _interim = value; }

    /// <summary>Body bytes counted but never seen (sendfile, lost events, snap length).</summary>
    public long UnseenBytes { get => _unseenBytes; init => _unseenBytes = value; }

    /// <summary>Trailer fields after a chunked body (request's and response's together).</summary>
    public IReadOnlyList<HttpHeader>? Trailers { get => _trailers; init => _trailers = value; }

    /// <summary>The end of a message was never seen (the connection closed first, or a gap hid it).</summary>
    public bool Truncated { get => _truncated; init => _truncated = value; }

    /// <summary>HTTP/2: the stream's id.</summary>
    public int? Stream { get => _stream; init => _stream = value; }

    /// <summary>HTTP/2: the RST_STREAM or GOAWAY that ended the stream.</summary>
    public Http2StreamError? Error { get => _error; init => _error = value; }

    /// <summary>HTTP/2: a header block referred to HPACK state never seen; the fields it carried are missing.</summary>
    public bool HeadersIncomplete { get => _headersIncomplete; init => _headersIncomplete = value; }

    /// <summary>HTTP/2 server push: the stream whose PUSH_PROMISE announced this one.</summary>
    public int? PromisedBy { get => _promisedBy; init => _promisedBy = value; }

    /// <summary>The gRPC call the stream carried.</summary>
    public GrpcCall? Grpc { get => _grpc; init => _grpc = value; }

    /// <summary>
    /// Read in the kernel (--http-in-kernel): method, path, version and Host from the head's first bytes, no header
    /// fields, and the latency to the response's first byte.
    /// </summary>
    public bool InKernel { get => _inKernel; init => _inKernel = value; }

    public override void WriteFields(Utf8JsonWriter w)
    {
        RecurringExchange.Write(w, this);
        if (!ReqBody.IsEmpty)
        {
            w.WriteBase64String(Names.ReqBodyB64, ReqBody.Span);
        }
        if (!RespBody.IsEmpty)
        {
            w.WriteBase64String(Names.RespBodyB64, RespBody.Span);
        }
        if (ReqContentEncoding is not null)
        {
            w.WriteString(Names.ReqContentEncoding, ReqContentEncoding);
        }
        if (RespContentEncoding is not null)
        {
            w.WriteString(Names.RespContentEncoding, RespContentEncoding);
        }
        if (Upgrade is not null)
        {
            w.WriteString(Names.Upgrade, Upgrade);
        }
        if (Interim.Count > 0)
        {
            w.WriteStartArray(Names.Interim);
            foreach (int code in Interim)
            {
                w.WriteNumberValue(code);
            }
            w.WriteEndArray();
        }
        if (UnseenBytes > 0)
        {
            w.WriteNumber(Names.UnseenBytes, UnseenBytes);
        }
        if (Trailers is not null)
        {
            HeaderJson.Write(w, Names.Trailers, Trailers);
        }
        w.WriteBoolean(JsonNames.Truncated, Truncated);
        if (Stream is { } stream)
        {
            w.WriteNumber(Names.Stream, stream);
        }
        if (Error is { } error)
        {
            w.WriteStartObject(JsonNames.Error);
            w.WriteString(Names.Frame, error.Frame);
            w.WriteNumber(Names.Code, error.Code);
            w.WriteString(JsonNames.Name, error.Name);
            w.WriteString(Names.By, error.By);
            w.WriteEndObject();
        }
        if (HeadersIncomplete)
        {
            w.WriteBoolean(Names.HeadersIncomplete, true);
        }
        if (PromisedBy is { } promisedBy)
        {
            w.WriteNumber(Names.PromisedBy, promisedBy);
        }
        if (Grpc is { } grpc)
        {
            WriteGrpc(w, grpc);
        }
        if (InKernel)
        {
            w.WriteBoolean(Names.InKernel, true);
        }
    }

    /// <summary>The fields from "tls" to "resp_headers", all read from the two heads: what a keep-alive peer repeats.</summary>
    internal void WriteHeads(Utf8JsonWriter w)
    {
        w.WriteBoolean(JsonNames.Tls, Tls);
        if (Tls)
        {
            w.WriteString(Names.Sni, Sni);
        }
        if (TlsSession is not null)
        {
            w.WriteString(Names.TlsSession, TlsSession);
        }
        RecurringStrings.Write(w, Names.Method, Method);
        w.WriteString(JsonNames.Path, Path);
        RecurringStrings.Write(w, JsonNames.Host, Host);
        RecurringStrings.Write(w, JsonNames.Version, Version);
        JsonFields.WriteOptional(w, Names.Status, Status);
        JsonFields.WriteOptional(w, Names.ReqBytes, ReqBytes);
        JsonFields.WriteOptional(w, Names.RespBytes, RespBytes);
        HeaderJson.Write(w, Names.ReqHeaders, ReqHeaders);
        HeaderJson.Write(w, Names.RespHeaders, RespHeaders);
    }

    public override string? ErrorType
    {
        get
        {
            if (Grpc is { } grpc)
            {
                // A gRPC call fails by its status, whatever the HTTP one; an answer without one is a failure too.
                return grpc.StatusCode is int code ? (code == 0 ? null : grpc.StatusName ?? code.ToString(CultureInfo.InvariantCulture))
                    : Status is null ? null : "no grpc-status";
            }
            return StatusClass.HttpErrorType(Status, server: Role == "server");
        }
    }

    public override bool WriteExchange(IExchangeWriter w)
    {
        string method = Method ?? "_OTHER";
        if (Grpc is { } grpc)
        {
            w.Describe(ExchangeKind.Rpc, "grpc", $"{grpc.Service}/{grpc.Method}");
            w.Attribute("rpc.system", "grpc");
            w.Attribute("rpc.service", grpc.Service);
            w.Attribute("rpc.method", grpc.Method);
            if (grpc.StatusCode is int code)
            {
                w.Attribute("rpc.grpc.status_code", code);
                w.Outcome(code == 0 ? "ok" : "error", ErrorType);
            }
            else
            {
                w.Outcome(Status is null ? "none" : "error", ErrorType);
            }
        }
        else
        {
            // Span names stay low-cardinality (semantic conventions): the method, never the raw path.
            w.Describe(ExchangeKind.Http, "http", method);
            w.Outcome(StatusClass.Of(Status), ErrorType);
        }
        w.Attribute("http.request.method", method);
        if (Status is int status)
        {
            w.Attribute("http.response.status_code", status);
        }
        if (Path is { } path)
        {
            int query = path.IndexOf('?');
            w.Attribute("url.path", query < 0 ? path : path[..query]);
        }
        if (Version is { } version)
        {
            // Semantic conventions: "1.1", "2" — the record says "HTTP/1.1" for HTTP/1.
            w.Attribute("network.protocol.version", version switch
            {
                // The usual two as constants: a substring would be a new string per exchange.
                "HTTP/1.1" => "1.1",
                "HTTP/1.0" => "1.0",
                _ when version.StartsWith("HTTP/", StringComparison.Ordinal) => version[5..],
                _ => version,
            });
        }
        if (Host is { } host)
        {
            w.Attribute("http.request.header.host", host);
        }
        if (Sni is { } sni)
        {
            w.Attribute("tls.server.name", sni);
        }
        if (Tls)
        {
            w.Attribute("url.scheme", "https");
        }
        return true;
    }

    private static void WriteGrpc(Utf8JsonWriter w, GrpcCall grpc)
    {
        w.WriteStartObject(Names.Grpc);
        RecurringStrings.Write(w, Names.Service, grpc.Service);
        RecurringStrings.Write(w, Names.Method, grpc.Method);
        RecurringStrings.Write(w, Names.Status, grpc.StatusName);
        JsonFields.WriteOptional(w, Names.Code, grpc.StatusCode);
        w.WriteString(JsonNames.Message, grpc.Message);
        w.WriteNumber(Names.ReqMessages, grpc.RequestMessages);
        w.WriteNumber(Names.RespMessages, grpc.ResponseMessages);
        w.WriteNumber(Names.ReqMessageBytes, grpc.RequestMessageBytes);
        w.WriteNumber(Names.RespMessageBytes, grpc.ResponseMessageBytes);
        w.WriteBoolean(Names.Compressed, grpc.Compressed);
        w.WriteEndObject();
    }

    public override void Describe(LiveLine line)
    {
        if (Version == "2")
        {
            DescribeHttp2(line);
            return;
        }
        line.Word(LiveStyle.Cyan, Tls ? "https" : "http").Space().Text(Method ?? "?").Space()
            .Text(Host ?? Remote?.ToString() ?? "").Text(Path ?? "").Space().Arrow(Role).Space();
        StatusAndSize(line);
        line.Ms(LatencyMs);
        if (Upgrade is { } up)
        {
            line.Word(" upgrade ").Text(up);
        }
        line.Conn(Conn);
    }

    /// <summary>"200 1.2 KiB" in green (red from 400), or "(no response)".</summary>
    private void StatusAndSize(LiveLine line)
    {
        if (Status is { } st)
        {
            line.Word(st >= 400 ? LiveStyle.Red : LiveStyle.Green, st.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            line.Word(LiveStyle.Grey, "(no response)");
        }
        if (RespBytes is { } rb)
        {
            line.Space().Bytes((ulong)rb);
        }
    }

    /// <summary>
    /// "h2 GET /x -> 200 12 B 0.52 ms example.com #1 c3", or for gRPC "grpc /pkg.Service/Method -> OK 1.20 ms":
    /// the path first, as an HTTP/2 client's logs show it.
    /// </summary>
    private void DescribeHttp2(LiveLine line)
    {
        if (Grpc is { } grpc)
        {
            line.Word(LiveStyle.Cyan, "grpc").Space().Text(Path ?? "/" + grpc.Service + "/" + grpc.Method).Space().Arrow(Role).Space();
            if (grpc.StatusName is { } status)
            {
                line.Text(grpc.StatusCode == 0 ? LiveStyle.Green : LiveStyle.Red, status);
                if (grpc.Message is { Length: > 0 } message)
                {
                    line.Space().Text(LiveStyle.Red, message);
                }
            }
            else
            {
                line.Word(LiveStyle.Grey, Status is { } st ? "(no grpc-status, http " + st.ToString(System.Globalization.CultureInfo.InvariantCulture) + ")" : "(no response)");
            }
        }
        else
        {
            line.Word(LiveStyle.Cyan, PromisedBy is null ? "h2" : "h2 push").Space().Text(Method ?? "?").Space().Text(Path ?? "?").Space().Arrow(Role).Space();
            StatusAndSize(line);
        }
        line.Ms(LatencyMs);
        if (Error is { } error)
        {
            line.Space().Word(LiveStyle.Red, error.Frame + " " + error.Name).Word(" by " + error.By);
        }
        if (HeadersIncomplete)
        {
            line.Space().Word(LiveStyle.Grey, "(headers incomplete)");
        }
        if (Host is not null)
        {
            line.Space().Text(Host);
        }
        line.Space().Word(LiveStyle.Grey, "#" + Stream?.ToString(System.Globalization.CultureInfo.InvariantCulture)).Conn(Conn);
    }

    private static class Names
    {
        public static readonly JsonEncodedText InKernel = JsonEncodedText.Encode("in_kernel");
        public static readonly JsonEncodedText Interim = JsonEncodedText.Encode("interim");
        public static readonly JsonEncodedText Method = JsonEncodedText.Encode("method");
        public static readonly JsonEncodedText ReqBodyB64 = JsonEncodedText.Encode("req_body_b64");
        public static readonly JsonEncodedText ReqBytes = JsonEncodedText.Encode("req_bytes");
        public static readonly JsonEncodedText ReqContentEncoding = JsonEncodedText.Encode("req_content_encoding");
        public static readonly JsonEncodedText ReqHeaders = JsonEncodedText.Encode("req_headers");
        public static readonly JsonEncodedText RespBodyB64 = JsonEncodedText.Encode("resp_body_b64");
        public static readonly JsonEncodedText RespBytes = JsonEncodedText.Encode("resp_bytes");
        public static readonly JsonEncodedText RespContentEncoding = JsonEncodedText.Encode("resp_content_encoding");
        public static readonly JsonEncodedText RespHeaders = JsonEncodedText.Encode("resp_headers");
        public static readonly JsonEncodedText Sni = JsonEncodedText.Encode("sni");
        public static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
        public static readonly JsonEncodedText TlsSession = JsonEncodedText.Encode("tls_session");
        public static readonly JsonEncodedText Trailers = JsonEncodedText.Encode("trailers");
        public static readonly JsonEncodedText UnseenBytes = JsonEncodedText.Encode("unseen_bytes");
        public static readonly JsonEncodedText Upgrade = JsonEncodedText.Encode("upgrade");
        public static readonly JsonEncodedText Stream = JsonEncodedText.Encode("stream");
        public static readonly JsonEncodedText Frame = JsonEncodedText.Encode("frame");
        public static readonly JsonEncodedText Code = JsonEncodedText.Encode("code");
        public static readonly JsonEncodedText By = JsonEncodedText.Encode("by");
        public static readonly JsonEncodedText HeadersIncomplete = JsonEncodedText.Encode("headers_incomplete");
        public static readonly JsonEncodedText PromisedBy = JsonEncodedText.Encode("promised_by");
        public static readonly JsonEncodedText Grpc = JsonEncodedText.Encode("grpc");
        public static readonly JsonEncodedText Service = JsonEncodedText.Encode("service");
        public static readonly JsonEncodedText ReqMessages = JsonEncodedText.Encode("req_messages");
        public static readonly JsonEncodedText RespMessages = JsonEncodedText.Encode("resp_messages");
        public static readonly JsonEncodedText ReqMessageBytes = JsonEncodedText.Encode("req_message_bytes");
        public static readonly JsonEncodedText RespMessageBytes = JsonEncodedText.Encode("resp_message_bytes");
        public static readonly JsonEncodedText Compressed = JsonEncodedText.Encode("compressed");
    }
}

/// <summary>HTTP header fields as one JSON object.</summary>
internal static class HeaderJson
{
    /// <summary>Headers as an object in wire order; a repeated name's values are joined with ", " (RFC 9110 §5.3).</summary>
    /// <remarks>On the hot path of every http record: no allocation for a record's array unless a name repeats.</remarks>
    public static void Write(Utf8JsonWriter w, JsonEncodedText name, IReadOnlyList<HttpHeader>? headers)
    {
        if (headers is null)
        {
            w.WriteNull(name);
            return;
        }
        // Records carry arrays: as a span, the name comparisons below are plain loops, not interface calls.
        var all = headers as HttpHeader[] ?? [.. headers];
        if (all.Length is 0 or > MostCachedFields)
        {
            w.WriteStartObject(name);
            WriteMembers(w, all);
            w.WriteEndObject();
            return;
        }
        // A keep-alive peer sends the same block again and again (nginx's nine response fields differ only in Date,
        // once a second): a block seen twice is encoded once and then copied, where each field cost a writer call.
        var blocks = t_blocks ??= new Block[BlockSlots];
        ref var block = ref blocks[BlockSlot(all)];
        if (block.Fields is not { } seen || !SameFields(seen, all))
        {
            block = new Block { Fields = all }; // seen once: cached if it comes again
            w.WriteStartObject(name);
            WriteMembers(w, all);
            w.WriteEndObject();
            return;
        }
        block.Json ??= JsonFragment.Encode(all, static (w, all) =>
        {
            w.WriteStartObject();
            WriteMembers(w, all);
            w.WriteEndObject();
        });
        JsonFragment.Write(w, name, block.Json);
    }

    private const int MostCachedFields = 32;

    private const int BlockSlots = 64;

    [ThreadStatic]
    private static Block[]? t_blocks;

    private struct Block
    {
        public HttpHeader[]? Fields;
        public byte[]? Json;
    }

    /// <summary>The count and the lengths: a block's slot, whatever its values' instances (each connection has its own).</summary>
    private static int BlockSlot(ReadOnlySpan<HttpHeader> all)
    {
        int h = all.Length;
        foreach (var f in all)
        {
            h = (h * 31) + (f.Name.Length * 7) + f.Value.Length;
        }
        return h & (BlockSlots - 1);
    }

    /// <summary>The same names and values, in order, spelled the same (their JSON is then the same bytes).</summary>
    private static bool SameFields(ReadOnlySpan<HttpHeader> a, ReadOnlySpan<HttpHeader> b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }
        for (int i = 0; i < a.Length; i++)
        {
            if (!string.Equals(a[i].Name, b[i].Name, StringComparison.Ordinal) || !string.Equals(a[i].Value, b[i].Value, StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    private static void WriteMembers(Utf8JsonWriter w, ReadOnlySpan<HttpHeader> all)
    {
        // Names of one length are the only ones that can repeat: most heads have no two names of a length that also
        // compare equal, so a bit per length (mod 64) spares the pairwise comparisons.
        ulong seen = 0, repeated = 0;
        foreach (var header in all)
        {
            ulong bit = 1UL << (header.Name.Length & 63);
            repeated |= seen & bit;
            seen |= bit;
        }
        for (int i = 0; i < all.Length; i++)
        {
            string key = all[i].Name;
            bool mayRepeat = (repeated & (1UL << (key.Length & 63))) != 0;
            if (mayRepeat && IndexOfName(all[..i], key) >= 0)
            {
                continue; // written with its first occurrence
            }
            string value = all[i].Value;
            if (mayRepeat && IndexOfName(all[(i + 1)..], key) >= 0)
            {
                var joined = new StringBuilder(value);
                foreach (var (otherKey, otherValue) in all[(i + 1)..])
                {
                    if (string.Equals(otherKey, key, StringComparison.OrdinalIgnoreCase))
                    {
                        joined.Append(", ").Append(otherValue);
                    }
                }
                value = joined.ToString();
            }
            RecurringStrings.Write(w, HeaderName(key), value);
        }
    }

    private static int IndexOfName(ReadOnlySpan<HttpHeader> headers, string key)
    {
        for (int j = 0; j < headers.Length; j++)
        {
            if (string.Equals(headers[j].Name, key, StringComparison.OrdinalIgnoreCase))
            {
                return j;
            }
        }
        return -1;
    }

    [ThreadStatic]
    private static Dictionary<string, JsonEncodedText>? t_names;

    [ThreadStatic]
    private static (string? Key, JsonEncodedText Name)[]? t_recentNames;

    private const int RecentNameSlots = 64;

    /// <summary>
    /// Header names come interned from the parser ("Content-Type"): lower-case and encode each spelling once per
    /// thread, for a bounded number of spellings. The interned instance is found by reference in a few slots first,
    /// without hashing its text.
    /// </summary>
    private static JsonEncodedText HeaderName(string key)
    {
        var recent = t_recentNames ??= new (string?, JsonEncodedText)[RecentNameSlots];
        ref var slot = ref recent[key.Length == 0 ? 0 : ((key.Length * 31) + (key[0] * 7) + key[^1]) & (RecentNameSlots - 1)];
        if (ReferenceEquals(slot.Key, key))
        {
            return slot.Name;
        }
        var cache = t_names ??= new Dictionary<string, JsonEncodedText>(StringComparer.Ordinal);
        if (cache.TryGetValue(key, out var name))
        {
            slot = (key, name);
            return name;
        }
        name = JsonEncodedText.Encode(key.AsSpan().ContainsAnyInRange('A', 'Z') ? key.ToLowerInvariant() : key);
        if (cache.Count < 1024)
        {
            cache[key] = name;
        }
        return name;
    }
}
