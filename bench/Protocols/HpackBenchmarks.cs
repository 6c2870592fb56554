using BenchmarkDotNet.Attributes;
using Tattle.Protocols.Http2.Hpack;
using static Tattle.Protocols.Http2.Hpack.HpackWriter;

namespace Tattle.Bench.Protocols;

/// <summary>
/// HPACK decoding of request header blocks as a browser, curl or a gRPC client sends them: the first request of a
/// connection (Huffman literals, each added to the table), then later ones with a warm table (indexed fields, and
/// in the second variant a new :path as a Huffman literal). The sink sums lengths and keeps nothing.
/// </summary>
[MemoryDiagnoser]
public class HpackBenchmarks
{
    private const string UserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0";

    private readonly HpackDecoder _decoder = new();
    private readonly CountingSink _sink = new();
    private byte[] _first = [];
    private byte[] _warmIndexed = [];
    private byte[] _warmNewPath = [];

    [GlobalSetup]
    public void Setup()
    {
        // The size updates empty the table, so every run decodes the first request into a cold table.
        _first = Block(b =>
        {
            SizeUpdate(b, 0);
            SizeUpdate(b, 4096);
            Indexed(b, 2); // :method GET
            Indexed(b, 7); // :scheme https
            Literal(b, 0x40, 4, null, "/api/v1/users/12345/orders?status=shipped&page=2", huffman: true);
            Literal(b, 0x40, 1, null, "api.example.com", huffman: true);
            Literal(b, 0x40, 58, null, UserAgent, huffman: true);
            Literal(b, 0x40, 19, null, "application/json, text/plain, */*", huffman: true);
            Literal(b, 0x40, 16, null, "gzip, deflate, br", huffman: true);
            Literal(b, 0x40, 17, null, "en-US,en;q=0.9", huffman: true);
            Literal(b, 0x40, 24, null, "no-cache", huffman: true);
        });
        // Dynamic entries after the first block, newest first: cache-control 62 ... :path 68.
        _warmIndexed = Block(b =>
        {
            Indexed(b, 2);
            Indexed(b, 7);
            Indexed(b, 68);
            Indexed(b, 67);
            Indexed(b, 66);
            Indexed(b, 65);
            Indexed(b, 64);
            Indexed(b, 63);
            Indexed(b, 62);
        });
        _warmNewPath = Block(b =>
        {
            Indexed(b, 2);
            Indexed(b, 7);
            Literal(b, 0x00, 4, null, "/api/v1/users/12345/orders?status=shipped&page=3", huffman: true);
            Indexed(b, 67);
            Indexed(b, 66);
            Indexed(b, 65);
            Indexed(b, 64);
            Indexed(b, 63);
            Indexed(b, 62);
        });
        foreach (var block in (byte[][])[_first, _warmIndexed, _warmNewPath])
        {
            if (_decoder.Decode(block, _sink) != HpackStatus.Ok)
            {
                throw new InvalidOperationException("a benchmark block does not decode");
            }
        }
    }

    private static byte[] Block(Action<List<byte>> build)
    {
        var bytes = new List<byte>();
        build(bytes);
        return [.. bytes];
    }

    [Benchmark(Description = "first request, 9 fields, Huffman literals")]
    public HpackStatus FirstRequest() => _decoder.Decode(_first, _sink);

    [Benchmark(Description = "warm request, 9 indexed fields")]
    public HpackStatus WarmIndexed() => _decoder.Decode(_warmIndexed, _sink);

    [Benchmark(Description = "warm request, 8 indexed + Huffman :path")]
    public HpackStatus WarmNewPath() => _decoder.Decode(_warmNewPath, _sink);

    private sealed class CountingSink : IHpackHeaderSink
    {
        public long Bytes;

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int staticIndex) => Bytes += name.Length + value.Length;

        public void OnUnknownHeader(ReadOnlySpan<byte> value, bool nameOnly) => Bytes += value.Length;
    }
}
