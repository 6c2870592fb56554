using System.Security.Cryptography;
using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Http1;

/// <summary>
/// A connection recorded by testdata/http1/capture.py (a <see cref="RecordedConnection"/>), replayed through the
/// HTTP/1 parser.
/// </summary>
public sealed class Http1Capture
{
    public const long StepNs = RecordedConnection.StepNs;

    /// <summary>Every recorded case (see capture.py for what each one is).</summary>
    public static readonly string[] All =
    [
        "keepalive", "head", "notmodified", "gzip_chunked", "pipelined", "credentials", "absolute_form",
        "chunked_trailer", "post", "continue", "chunked_request", "close_delimited", "upgrade",
    ];

    private readonly RecordedConnection _recording;

    private Http1Capture(RecordedConnection recording) => _recording = recording;

    public string Name => _recording.Name;

    public byte[] Requests => _recording.Requests;

    public byte[] Responses => _recording.Responses;

    public IReadOnlyList<(MessageKind Kind, int Length)> Recvs => _recording.Recvs;

    public byte[] Bytes(MessageKind kind) => _recording.Bytes(kind);

    public static Http1Capture Load(string name) => new(RecordedConnection.Load("http1", name));

    /// <inheritdoc cref="RecordedConnection.Replay(ProtocolInfo, ParserOptions?, Random?, int)"/>
    public StreamFeeder Replay(ParserOptions? options = null, Random? random = null, int maxSegment = 64) =>
        _recording.Replay(Http1Protocol.Info, options, random, maxSegment);

    /// <summary>Feeds the recording without ending it; returns the time after the last segment.</summary>
    public long Replay(StreamFeeder feeder, Random? random = null, int maxSegment = 64) =>
        _recording.Replay(feeder, random, maxSegment);

    /// <summary>What an exchange says, times left out (they depend on how the bytes were cut).</summary>
    public static string Summary(ProtocolMessage message)
    {
        var x = (HttpExchange)message;
        var sb = new StringBuilder();
        if (x.Request is { } q)
        {
            sb.Append($"{q.Method} {q.Target} {q.Version} host={q.Host} head={q.HeadBytes} body={q.BodyBytes}");
            sb.Append($" chunked={q.Chunked} unseen={q.UnseenBytes} truncated={q.Truncated} ");
            AppendFields(sb, q);
        }
        sb.Append(" => ");
        if (x.Response is { } r)
        {
            sb.Append($"{r.Version} {r.Status} {r.Reason} head={r.HeadBytes} body={r.BodyBytes} close={r.EndedAtClose}");
            sb.Append($" chunked={r.Chunked} ce={r.ContentEncoding} unseen={r.UnseenBytes} truncated={r.Truncated} ");
            AppendFields(sb, r);
        }
        sb.Append($" upgrade={x.Upgrade} interim={string.Join(",", x.Interim)}");
        return sb.ToString();
    }

    private static void AppendFields(StringBuilder sb, HttpMessageInfo m)
    {
        foreach (var h in m.Headers)
        {
            sb.Append(h.Name).Append('=').Append(h.Value).Append(';');
        }
        foreach (var h in m.Trailers)
        {
            sb.Append("trailer:").Append(h.Name).Append('=').Append(h.Value).Append(';');
        }
        sb.Append("captured=").Append(m.Body.Length).Append(':').Append(Convert.ToHexString(SHA256.HashData(m.Body.Span))[..16]);
    }
}
