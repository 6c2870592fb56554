using Tattle.Protocols.Http;
using Tattle.Protocols.Http1;

namespace Tattle.Protocols.Http2;

/// <summary>What one side of a stream carried besides its headers: payload bytes, the kept body, gRPC messages.</summary>
internal struct StreamHalf
{
    public long Bytes;
    public string? ContentEncoding;
    public bool Ended;
    public GrpcMessageCounter Grpc;

    private byte[]? _body;
    private int _bodyLength;

    /// <summary>A gap hid part of the body: what follows is not kept, or the body would read as contiguous.</summary>
    private bool _bodyHoled;

    public readonly ReadOnlyMemory<byte> Body => _body is null ? default : _body.AsMemory(0, _bodyLength);

    public void AddData(ReadOnlySpan<byte> data, int bodyLimit, bool grpc)
    {
        if (grpc)
        {
            Grpc.Add(data);
        }
        int keep = Math.Min(data.Length, bodyLimit - _bodyLength);
        if (keep <= 0 || _bodyHoled)
        {
            return;
        }
        if (_body is null || _body.Length < _bodyLength + keep)
        {
            var grown = new byte[Math.Min(bodyLimit, Math.Max(_bodyLength + keep, (_body?.Length ?? 0) * 2))];
            _body?.AsSpan(0, _bodyLength).CopyTo(grown);
            _body = grown;
        }
        data[..keep].CopyTo(_body.AsSpan(_bodyLength));
        _bodyLength += keep;
    }

    public void OnGap()
    {
        Grpc.Lost = true;
        _bodyHoled = true;
    }
}

/// <summary>One stream being followed, until it ends and is reported as an <see cref="Http2Exchange"/>.</summary>
internal sealed class Http2Stream(int id, long startNs)
{
    public int Id { get; private set; } = id;

    public long StartNs { get; private set; } = startNs;

    public long EndNs = startNs;

    public string? Method;
    public string? Path;
    public string? Authority;
    public string? Scheme;
    public int? Status;

    /// <summary>The request's content-type, or the response's when the request was not seen: tells gRPC.</summary>
    public string? ContentType;

    public string? GrpcStatus;
    public string? GrpcMessage;

    public HttpHeader[]? RequestHeaders;
    public HttpHeader[]? ResponseHeaders;
    public HttpHeader[]? Trailers;
    public List<int>? Interim;

    public StreamHalf Request;
    public StreamHalf Response;

    public bool HeadersIncomplete;
    public int? PromisedBy;
    public long UnseenBytes;
    public Http2StreamError? Error;

    public bool IsGrpc => GrpcText.IsGrpcContentType(ContentType);

    public ref StreamHalf Half(bool request) => ref request ? ref Request : ref Response;

    /// <summary>
    /// Makes this stream, ended and reported to a sink that consumed it at once, stream <paramref name="id"/> as a
    /// new one would be. What it handed to its exchange stays there: its arrays are never changed once handed, and
    /// its lists and body buffer are dropped here, not cleared.
    /// </summary>
    public Http2Stream Reopen(int id, long startNs)
    {
        Id = id;
        StartNs = EndNs = startNs;
        Method = Path = Authority = Scheme = ContentType = GrpcStatus = GrpcMessage = null;
        Status = null;
        RequestHeaders = ResponseHeaders = null;
        Trailers = null;
        Interim = null;
        Request = default;
        Response = default;
        HeadersIncomplete = false;
        PromisedBy = null;
        UnseenBytes = 0;
        Error = null;
        return this;
    }

    /// <summary>
    /// The call as the stream ended it: <paramref name="last"/>, the call handed with the previous exchange, when
    /// every value is the same (a client calling one method again, as it does on a keep-alive connection). A call is
    /// never changed once handed, so whoever kept the last one keeps what it was.
    /// </summary>
    public GrpcCall ToGrpcCall(GrpcCall? last)
    {
        var (service, method) = GrpcText.SplitPath(Path);
        int? code = int.TryParse(GrpcStatus, System.Globalization.NumberStyles.None, null, out int c) ? c : null;
        bool compressed = Request.Grpc.Compressed || Response.Grpc.Compressed;
        if (last is not null && GrpcMessage is null && last.Message is null && last.StatusCode == code
            && last.Compressed == compressed && last.Service == service && last.Method == method
            && last.RequestMessages == Request.Grpc.Messages && last.ResponseMessages == Response.Grpc.Messages
            && last.RequestMessageBytes == Request.Grpc.MessageBytes && last.ResponseMessageBytes == Response.Grpc.MessageBytes)
        {
            return last;
        }
        return new GrpcCall
        {
            Service = service,
            Method = method,
            StatusCode = code,
            StatusName = code is { } k ? GrpcText.StatusName(k) : null,
            Message = GrpcMessage is null ? null : GrpcText.PercentDecode(GrpcMessage),
            RequestMessages = Request.Grpc.Messages,
            ResponseMessages = Response.Grpc.Messages,
            RequestMessageBytes = Request.Grpc.MessageBytes,
            ResponseMessageBytes = Response.Grpc.MessageBytes,
            Compressed = compressed,
        };
    }
}

/// <summary>
/// The open streams of a connection, bounded: past <see cref="Capacity"/> the oldest is handed back to be
/// reported truncated, so a peer opening streams without end costs a bounded amount of memory.
/// </summary>
internal sealed class Http2StreamTable
{
    public const int Capacity = 10_000;

    private readonly Dictionary<int, Http2Stream> _open = [];

    /// <summary>Ids in the order their streams opened; ids of streams since ended are skipped when met.</summary>
    private readonly Queue<int> _order = new();

    public int Count => _open.Count;

    public Http2Stream? Find(int id) => _open.GetValueOrDefault(id);

    /// <summary>Adds a stream; returns the oldest open one when that made the table too full (no longer in it).</summary>
    public Http2Stream? Add(Http2Stream stream)
    {
        _open[stream.Id] = stream;
        _order.Enqueue(stream.Id);
        if (_order.Count > (2 * _open.Count) + 64)
        {
            // Most ids queued belong to ended streams: keep only the open ones, still in order, in the same queue
            // (a connection that runs streams one at a time comes here every 64 of them).
            for (int queued = _order.Count; queued > 0; queued--)
            {
                int id = _order.Dequeue();
                if (_open.ContainsKey(id))
                {
                    _order.Enqueue(id);
                }
            }
        }
        if (_open.Count <= Capacity)
        {
            return null;
        }
        while (_order.TryDequeue(out int oldest))
        {
            if (_open.Remove(oldest, out var evicted))
            {
                return evicted;
            }
        }
        return null;
    }

    public void Remove(int id) => _open.Remove(id);

    /// <summary>Takes every open stream out, lowest id first.</summary>
    public List<Http2Stream> TakeAll()
    {
        var all = _open.Values.OrderBy(s => s.Id).ToList();
        _open.Clear();
        _order.Clear();
        return all;
    }

    /// <summary>The open streams whose id has the given parity and is above <paramref name="lastId"/>, lowest first.</summary>
    public List<Http2Stream> Above(int lastId, bool odd) =>
        [.. _open.Values.Where(s => s.Id > lastId && (s.Id % 2 == 1) == odd).OrderBy(s => s.Id)];
}
