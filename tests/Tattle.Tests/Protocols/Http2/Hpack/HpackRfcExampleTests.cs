using Tattle.Protocols.Http2.Hpack;
using static Tattle.Tests.Protocols.Http2.Hpack.HpackWire;

namespace Tattle.Tests.Protocols.Http2.Hpack;

/// <summary>Every example of RFC 7541 Appendix C: the fields, and the dynamic table size and count after each block.</summary>
public sealed class HpackRfcExampleTests
{
    private static readonly string[] Request1 = [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"];
    private static readonly string[] Request2 = [.. Request1, "cache-control: no-cache"];
    private static readonly string[] Request3 = [":method: GET", ":scheme: https", ":path: /index.html", ":authority: www.example.com", "custom-key: custom-value"];

    private const string Date1 = "date: Mon, 21 Oct 2013 20:13:21 GMT";
    private const string Location = "location: https://www.example.com";
    private static readonly string[] Response1 = [":status: 302", "cache-control: private", Date1, Location];
    private static readonly string[] Response2 = [":status: 307", "cache-control: private", Date1, Location];
    private static readonly string[] Response3 =
    [
        ":status: 200", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:22 GMT", Location, "content-encoding: gzip",
        "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    ];

    private static void Step(HpackDecoder decoder, string hex, string[] fields, int size, int count)
    {
        var sink = new RecordingSink();
        Assert.Equal(HpackStatus.Ok, decoder.Decode(Hex(hex), sink));
        Assert.Equal(fields, sink.Fields);
        Assert.Equal(size, decoder.TableSize);
        Assert.Equal(count, decoder.TableCount);
        Assert.True(decoder.Synchronized);
    }

    [Theory]
    [InlineData("0a", 5, 10, 1)] // C.1.1
    [InlineData("1f9a0a", 5, 1337, 3)] // C.1.2
    [InlineData("2a", 8, 42, 1)] // C.1.3
    public void C1_Integers(string hex, int prefixBits, int value, int length)
    {
        int position = 0;
        Assert.True(HpackDecoder.TryReadInteger(Hex(hex), ref position, prefixBits, out int decoded));
        Assert.Equal(value, decoded);
        Assert.Equal(length, position);
    }

    [Fact]
    public void C2_1_LiteralWithIndexing() =>
        Step(new HpackDecoder(), "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572", ["custom-key: custom-header"], 55, 1);

    [Fact]
    public void C2_2_LiteralWithoutIndexing() =>
        Step(new HpackDecoder(), "040c 2f73 616d 706c 652f 7061 7468", [":path: /sample/path"], 0, 0);

    [Fact]
    public void C2_3_LiteralNeverIndexed()
    {
        var decoder = new HpackDecoder();
        var sink = new NeverIndexedSink(decoder);
        Assert.Equal(HpackStatus.Ok, decoder.Decode(Hex("1008 7061 7373 776f 7264 0673 6563 7265 74"), sink));
        Assert.Equal(["password: secret (never indexed)"], sink.Fields);
        Assert.Equal(0, decoder.TableCount);
        Assert.False(decoder.FieldNeverIndexed);
    }

    [Fact]
    public void C2_4_Indexed() => Step(new HpackDecoder(), "82", [":method: GET"], 0, 0);

    [Fact]
    public void C3_RequestsWithoutHuffman()
    {
        var decoder = new HpackDecoder();
        Step(decoder, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", Request1, 57, 1);
        Step(decoder, "8286 84be 5808 6e6f 2d63 6163 6865", Request2, 110, 2);
        Step(decoder, "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65", Request3, 164, 3);
    }

    [Fact]
    public void C4_RequestsWithHuffman()
    {
        var decoder = new HpackDecoder();
        Step(decoder, "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", Request1, 57, 1);
        Step(decoder, "8286 84be 5886 a8eb 1064 9cbf", Request2, 110, 2);
        Step(decoder, "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", Request3, 164, 3);
    }

    [Fact]
    public void C5_ResponsesWithoutHuffman_EvictAt256()
    {
        var decoder = new HpackDecoder(256);
        Step(decoder, "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", Response1, 222, 4);
        Step(decoder, "4803 3330 37c1 c0bf", Response2, 222, 4);
        Step(decoder, "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31", Response3, 215, 3);
    }

    [Fact]
    public void C6_ResponsesWithHuffman_EvictAt256()
    {
        var decoder = new HpackDecoder(256);
        Step(decoder, "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3", Response1, 222, 4);
        Step(decoder, "4883 640e ffc1 c0bf", Response2, 222, 4);
        Step(decoder, "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07", Response3, 215, 3);
    }

    [Theory]
    [InlineData(0, 0x1ff8u, 13)]
    [InlineData(9, 0xffffeau, 24)]
    [InlineData((int)' ', 0x14u, 6)]
    [InlineData((int)'\\', 0x7fff0u, 19)]
    [InlineData((int)'z', 0x7bu, 7)]
    [InlineData(195, 0x7fff1u, 19)]
    [InlineData(255, 0x3ffffeeu, 26)]
    [InlineData(HpackHuffman.Eos, 0x3fffffffu, 30)]
    public void AppendixB_CodesDerivedFromLengthsMatchTheTable(int symbol, uint code, int length)
    {
        Assert.Equal(code, HpackHuffman.Codes[symbol]);
        Assert.Equal(length, HpackHuffman.LengthOf(symbol));
    }

    /// <summary>Shows the never-indexed mark the decoder exposes while the field is reported.</summary>
    private sealed class NeverIndexedSink(HpackDecoder decoder) : IHpackHeaderSink
    {
        private readonly RecordingSink _inner = new();

        public List<string> Fields => _inner.Fields;

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int staticIndex)
        {
            _inner.OnHeader(name, value, staticIndex);
            if (decoder.FieldNeverIndexed)
            {
                Fields[^1] += " (never indexed)";
            }
        }

        public void OnUnknownHeader(ReadOnlySpan<byte> value, bool nameOnly) => _inner.OnUnknownHeader(value, nameOnly);
    }
}
