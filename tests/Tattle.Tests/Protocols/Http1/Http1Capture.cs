using System.Security.Cryptography;
using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Http1;

/// <summary>
/// A connection recorded by testdata/http1/capture.py: both directions' bytes and the order of the relay's
/// recv() calls, so a replay interleaves the directions as they really were.
/// </summary>
public sealed class Http1Capture
{
    public const long StepNs = 1_000;

    /// <summary>Every recorded case (see capture.py for what each one is).</summary>
    public static readonly string[] All =
    [
        "keepalive", "head", "notmodified", "gzip_chunked", "pipelined", "credentials", "absolute_form",
        "chunked_trailer", "post", "continue", "chunked_request", "close_delimited", "upgrade",
    ];

    private Http1Capture(string name, byte[] requests, byte[] responses, List<(MessageKind Kind, int Length)> recvs)
    {
        Name = name;
        Requests = requests;
        Responses = responses;
        Recvs = recvs;
    }

    public string Name { get; }

    public byte[] Requests { get; }

    public byte[] Responses { get; }

    public IReadOnlyList<(MessageKind Kind, int Length)> Recvs { get; }

    public byte[] Bytes(MessageKind kind) => kind == MessageKind.Request ? Requests : Responses;

    public static Http1Capture Load(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "testdata", "http1");
        var recvs = new List<(MessageKind, int)>();
        foreach (string line in File.ReadAllLines(Path.Combine(dir, name + ".order")))
        {
            if (line.Length == 0)
            {
                continue;
            }
            string[] parts = line.Split(' ');
            recvs.Add((parts[0] == "c2s" ? MessageKind.Request : MessageKind.Response, int.Parse(parts[1])));
        }
        return new Http1Capture(
            name, File.ReadAllBytes(Path.Combine(dir, name + ".c2s")), File.ReadAllBytes(Path.Combine(dir, name + ".s2c")), recvs);
    }

    /// <summary>
    /// Feeds the recording in its recv order, each recv cut into segments by <paramref name="random"/> (whole
    /// when null), one <see cref="StepNs"/> apart; then both directions end and the connection closes.
    /// </summary>
    public StreamFeeder Replay(ParserOptions? options = null, Random? random = null, int maxSegment = 64)
    {
        var feeder = new StreamFeeder(Http1Protocol.Info, options);
        long now = Replay(feeder, random, maxSegment);
        feeder.Feed(MessageKind.Response, [], now, now, endOfStream: true);
        feeder.Feed(MessageKind.Request, [], now, now, endOfStream: true);
        feeder.Close(now + StepNs);
        return feeder;
    }

    /// <summary>Feeds the recording without ending it; returns the time after the last segment.</summary>
    public long Replay(StreamFeeder feeder, Random? random = null, int maxSegment = 64)
    {
        long now = StepNs;
        int[] offsets = [0, 0];
        foreach (var (kind, length) in Recvs)
        {
            var bytes = Bytes(kind).AsSpan(offsets[(int)kind], length);
            offsets[(int)kind] += length;
            while (!bytes.IsEmpty)
            {
                int n = random is null ? bytes.Length : Math.Min(bytes.Length, random.Next(1, maxSegment + 1));
                feeder.Feed(kind, bytes[..n], now, now + (StepNs / 2));
                bytes = bytes[n..];
                now += StepNs;
            }
        }
        return now;
    }

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
