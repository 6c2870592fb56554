using System.Text;
using BenchmarkDotNet.Attributes;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;

namespace Tattle.Bench.Protocols;

/// <summary>
/// HTTP/1 parser throughput. Heads: a typical ~400-byte browser-style request with 8 fields, counted only (the
/// span walk with a handler that keeps nothing) and parsed in full (strings, redaction, the reported exchange).
/// Bodies: 1 MiB skipped through <see cref="IProtocolParser.Parse"/> in 64 KiB reads, as Content-Length and as
/// 16 KiB chunks; divide <see cref="BodyBytes"/> by the mean for bytes/s.
/// </summary>
[MemoryDiagnoser]
public class Http1Benchmarks
{
    public const int BodyBytes = 1 << 20;
    private const int ReadSize = 64 * 1024;

    private static readonly byte[] Request = Encoding.ASCII.GetBytes(
        "GET /api/v1/users/12345/orders?status=shipped&page=2 HTTP/1.1\r\n" +
        "Host: api.example.com\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0\r\n" +
        "Accept: application/json, text/plain, */*\r\n" +
        "Accept-Encoding: gzip, deflate, br\r\n" +
        "Accept-Language: en-US,en;q=0.9\r\n" +
        "Connection: keep-alive\r\n" +
        "Referer: https://app.example.com/orders\r\n" +
        "Cache-Control: no-cache\r\n" +
        "\r\n");

    private static readonly byte[] Response = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\n" +
        "Server: nginx/1.22.1\r\n" +
        "Date: Sun, 22 Nov 2026 05:10:26 GMT\r\n" +
        "Content-Type: application/json\r\n" +
        "Content-Length: 0\r\n" +
        "Connection: keep-alive\r\n" +
        "Cache-Control: private, max-age=0\r\n" +
        "ETag: \"5f5e1000-7\"\r\n" +
        "\r\n");

    private byte[] _lengthStream = [];
    private byte[] _chunkedStream = [];
    private IProtocolParser _parser = null!;
    private readonly MessageDraft _draft = new();

    [GlobalSetup]
    public void Setup()
    {
        if (Request.Length is < 380 or > 420)
        {
            throw new InvalidOperationException($"the typical request is {Request.Length} bytes, not ~400");
        }
        _parser = Http1Protocol.Info.Create(ParserOptions.Default, new DiscardSink());

        _lengthStream = [.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {BodyBytes}\r\n\r\n"), .. new byte[BodyBytes]];

        var chunked = new MemoryStream();
        chunked.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"u8);
        var chunk = new byte[16 * 1024];
        for (int sent = 0; sent < BodyBytes; sent += chunk.Length)
        {
            chunked.Write(Encoding.ASCII.GetBytes($"{chunk.Length:x}\r\n"));
            chunked.Write(chunk);
            chunked.Write("\r\n"u8);
        }
        chunked.Write("0\r\n\r\n"u8);
        _chunkedStream = chunked.ToArray();
    }

    [Benchmark(Description = "request head, count only")]
    public int RequestHeadCountOnly()
    {
        int scan = 0;
        var handler = new NullHeadHandler();
        HttpHeadParser.FindHeadEnd(Request, ref scan, out int length);
        HttpHeadParser.TryParseRequest(Request.AsSpan(0, length), ref handler, out _);
        return length;
    }

    [Benchmark(Description = "request head, full (strings, redaction)")]
    public int RequestHeadFull()
    {
        int scan = 0;
        var builder = new HttpMessageBuilder(_draft, redact: true);
        HttpHeadParser.FindHeadEnd(Request, ref scan, out int length);
        HttpHeadParser.TryParseRequest(Request.AsSpan(0, length), ref builder, out _);
        int fields = _draft.Headers.Count;
        _draft.Reset(listsHandedOver: true);
        return fields;
    }

    [Benchmark(Description = "response head, count only")]
    public int ResponseHeadCountOnly()
    {
        int scan = 0;
        var handler = new NullHeadHandler();
        HttpHeadParser.FindHeadEnd(Response, ref scan, out int length);
        HttpHeadParser.TryParseResponse(Response.AsSpan(0, length), ref handler, out _);
        return length;
    }

    [Benchmark(Description = "request + response, full (strings, exchange)")]
    public int ExchangeFull()
    {
        var context = new StreamContext(1, 2);
        int a = _parser.Parse(MessageKind.Request, Request, context).Consumed;
        int b = _parser.Parse(MessageKind.Response, Response, context).Consumed;
        return a + b;
    }

    [Benchmark(Description = "1 MiB body, Content-Length")]
    public int SkipContentLengthBody() => Stream(_lengthStream);

    [Benchmark(Description = "1 MiB body, chunked 16 KiB")]
    public int SkipChunkedBody() => Stream(_chunkedStream);

    /// <summary>Feeds a response as 64 KiB reads would bring it, keeping what each call leaves unconsumed.</summary>
    private int Stream(byte[] stream)
    {
        _parser.Parse(MessageKind.Request, "GET / HTTP/1.1\r\n\r\n"u8, default);
        int offset = 0;
        int calls = 0;
        while (offset < stream.Length)
        {
            var window = stream.AsSpan(offset, Math.Min(ReadSize, stream.Length - offset));
            var result = _parser.Parse(MessageKind.Response, window, default);
            offset += result.Consumed;
            calls++;
            if (result.Status is ParseStatus.Invalid or ParseStatus.EndOfStream)
            {
                throw new InvalidOperationException(result.ToString());
            }
        }
        return calls;
    }
}
