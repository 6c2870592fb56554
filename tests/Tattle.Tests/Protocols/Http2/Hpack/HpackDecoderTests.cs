using Tattle.Protocols.Http2.Hpack;
using Tattle.Tests.Support;
using static Tattle.Protocols.Http2.Hpack.HpackWriter;
using static Tattle.Tests.Protocols.Http2.Hpack.HpackWire;

namespace Tattle.Tests.Protocols.Http2.Hpack;

/// <summary>Huffman, integer and size-update rules of RFC 7541, static-name reporting, bounds and allocation.</summary>
public sealed class HpackDecoderTests
{
    private static (HpackStatus Status, List<string> Fields) Decode(HpackDecoder decoder, byte[] block)
    {
        var sink = new RecordingSink();
        return (decoder.Decode(block, sink), sink.Fields);
    }

    private static byte[] Block(Action<List<byte>> build)
    {
        var bytes = new List<byte>();
        build(bytes);
        return [.. bytes];
    }

    /// <summary>A literal field "x" without indexing whose value is the given Huffman bytes.</summary>
    private static byte[] HuffmanValue(params byte[] encoded) => [0x00, 0x01, (byte)'x', (byte)(0x80 | encoded.Length), .. encoded];

    [Theory]
    [InlineData(new byte[] { 0x1F, 0xFF }, "11 bits of padding after 'a'")]
    [InlineData(new byte[] { 0xFF }, "8 bits of padding alone")]
    [InlineData(new byte[] { 0x1E }, "padding 110, not all ones")]
    [InlineData(new byte[] { 0x00 }, "padding 000 after '0'")]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFC, 0x7F }, "EOS then 'a'")]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, "EOS with 2 bits of padding")]
    public void HuffmanString_Malformed_IsAnError(byte[] encoded, string why)
    {
        var decoder = new HpackDecoder();
        var (status, fields) = Decode(decoder, HuffmanValue(encoded));
        Assert.True(status == HpackStatus.Error, why);
        Assert.Empty(fields);
        Assert.False(decoder.Synchronized);
    }

    [Fact]
    public void HuffmanString_EosInsideALongString_IsAnError()
    {
        // Long enough for the decoder's 8-bytes-at-a-time path, which has its own EOS check.
        int[] a = [.. Enumerable.Repeat((int)'a', 20)];
        Assert.Equal(HpackStatus.Error, Decode(new HpackDecoder(), HuffmanValue(Pack([.. a, HpackHuffman.Eos, .. a]))).Status);
        var (status, fields) = Decode(new HpackDecoder(), HuffmanValue(Pack([.. a, '{', .. a])));
        Assert.Equal(HpackStatus.Ok, status);
        Assert.Equal([$"x: {new string('a', 20)}{{{new string('a', 20)}"], fields);
    }

    /// <summary>Codes of the symbols end to end, padded with ones.</summary>
    private static byte[] Pack(int[] symbols)
    {
        var bits = new List<bool>();
        foreach (int symbol in symbols)
        {
            for (int i = HpackHuffman.LengthOf(symbol) - 1; i >= 0; i--)
            {
                bits.Add(((HpackHuffman.Codes[symbol] >> i) & 1) != 0);
            }
        }
        while (bits.Count % 8 != 0)
        {
            bits.Add(true);
        }
        return [.. bits.Chunk(8).Select(octet => (byte)octet.Aggregate(0, (v, bit) => (v << 1) | (bit ? 1 : 0)))];
    }

    [Theory]
    [InlineData(new byte[] { }, "")]
    [InlineData(new byte[] { 0x07 }, "0")] // '0' is 00000, then 3 bits of padding
    [InlineData(new byte[] { 0x1F }, "a")]
    [InlineData(new byte[] { 0xFE, 0x3F }, "!")] // 10 bits, then 6 bits of padding
    public void HuffmanString_WellFormed_Decodes(byte[] encoded, string value)
    {
        var (status, fields) = Decode(new HpackDecoder(), HuffmanValue(encoded));
        Assert.Equal(HpackStatus.Ok, status);
        Assert.Equal([$"x: {value}"], fields);
    }

    [Fact]
    public void Huffman_EveryByteRoundTrips()
    {
        byte[] all = [.. Enumerable.Range(0, 256).Select(i => (byte)i), .. Enumerable.Range(0, 256).Select(i => (byte)(255 - i))];
        var encoded = new byte[HpackHuffman.EncodedLength(all)];
        Assert.Equal(encoded.Length, HpackHuffman.Encode(all, encoded));
        var decoded = new byte[all.Length * 2];
        int length = HpackHuffman.Decode(encoded, decoded);
        Assert.Equal(all, decoded.AsSpan(0, length).ToArray());
    }

    [Theory]
    [InlineData("1fffffffff0f", "beyond int range")]
    [InlineData("1f80808080808000", "six continuation bytes")]
    [InlineData("1f80", "truncated")]
    [InlineData("", "nothing")]
    public void Integer_Malformed_IsRejected(string hex, string why)
    {
        int position = 0;
        Assert.False(HpackDecoder.TryReadInteger(Hex(hex), ref position, 5, out _), why);
    }

    [Fact]
    public void Integer_LargestIntDecodes()
    {
        var bytes = new List<byte>();
        Integer(bytes, 5, 0, int.MaxValue);
        int position = 0;
        Assert.True(HpackDecoder.TryReadInteger([.. bytes], ref position, 5, out int value));
        Assert.Equal(int.MaxValue, value);
    }

    [Fact]
    public void IndexZero_AndIndexPastTheTable_AreErrors()
    {
        Assert.Equal(HpackStatus.Error, Decode(new HpackDecoder(), [0x80]).Status);
        Assert.Equal(HpackStatus.Error, Decode(new HpackDecoder(), [0xBE]).Status);
        Assert.Equal(HpackStatus.Error, Decode(new HpackDecoder(), [0x40 | 62, 0x01, (byte)'v']).Status);
    }

    [Fact]
    public void SizeUpdate_AboveTheLimit_IsAnError()
    {
        var decoder = new HpackDecoder(4096);
        Assert.Equal(HpackStatus.Error, Decode(decoder, Block(b => SizeUpdate(b, 4097))).Status);

        decoder = new HpackDecoder(4096) { MaxTableSizeLimit = 8192 };
        Assert.Equal(HpackStatus.Ok, Decode(decoder, Block(b => { SizeUpdate(b, 8192); Indexed(b, 2); })).Status);
        Assert.Equal(8192, decoder.MaxTableSize);
    }

    [Fact]
    public void HugeTableSizeFromSettings_CostsOnlyWhatIsStored()
    {
        // A peer may advertise up to 2^32-1; the caller's cast makes that negative.
        var decoder = new HpackDecoder { MaxTableSizeLimit = -1 };
        Assert.Equal(int.MaxValue, decoder.MaxTableSizeLimit);
        var (status, fields) = Decode(decoder, Block(b => { SizeUpdate(b, int.MaxValue); Literal(b, 0x40, 0, "a", "1"); Indexed(b, 62); }));
        Assert.Equal(HpackStatus.Ok, status);
        Assert.Equal(["a: 1", "a: 1"], fields);
        Assert.Equal(int.MaxValue, new HpackDecoder(int.MaxValue).MaxTableSize);
    }

    [Fact]
    public void SizeUpdate_AfterAField_IsAnError()
    {
        Assert.Equal(HpackStatus.Error, Decode(new HpackDecoder(), Block(b => { Indexed(b, 2); SizeUpdate(b, 0); })).Status);
        // Two at the start are allowed (§4.2: a reduction, then the new size).
        Assert.Equal(HpackStatus.Ok, Decode(new HpackDecoder(), Block(b => { SizeUpdate(b, 0); SizeUpdate(b, 4096); Indexed(b, 2); })).Status);
    }

    [Fact]
    public void SizeUpdate_EvictsOldestFirst()
    {
        var decoder = new HpackDecoder();
        Decode(decoder, Block(b => { Literal(b, 0x40, 0, "a", "1"); Literal(b, 0x40, 0, "b", "2"); }));
        Assert.Equal(68, decoder.TableSize);
        var (status, fields) = Decode(decoder, Block(b => { SizeUpdate(b, 40); Indexed(b, 62); }));
        Assert.Equal(HpackStatus.Ok, status);
        Assert.Equal(["b: 2"], fields);
        Assert.Equal(1, decoder.TableCount);
        Assert.Equal(HpackStatus.Error, Decode(decoder, [0xBF]).Status);
    }

    [Fact]
    public void EntryLargerThanTheTable_EmptiesIt()
    {
        var decoder = new HpackDecoder(64);
        Decode(decoder, Block(b => Literal(b, 0x40, 0, "a", "1")));
        Assert.Equal(1, decoder.TableCount);
        var (status, fields) = Decode(decoder, Block(b => Literal(b, 0x40, 0, "big", new string('v', 40))));
        Assert.Equal(HpackStatus.Ok, status);
        Assert.Equal([$"big: {new string('v', 40)}"], fields);
        Assert.Equal(0, decoder.TableCount);
        Assert.Equal(0, decoder.TableSize);
    }

    [Fact]
    public void DynamicName_EvictedByItsOwnInsertion_IsCopiedFirst()
    {
        // §4.4: the name of the new entry references the entry the insertion evicts.
        var decoder = new HpackDecoder(100);
        Decode(decoder, Block(b => Literal(b, 0x40, 0, "custom-name", "first-value")));
        var (status, fields) = Decode(decoder, Block(b => Literal(b, 0x40, 62, null, "second-value-that-is-longer")));
        Assert.Equal(HpackStatus.Ok, status);
        Assert.Equal(["custom-name: second-value-that-is-longer"], fields);
        Assert.Equal(["custom-name: second-value-that-is-longer"], Decode(decoder, [0xBE]).Fields);
        Assert.Equal(1, decoder.TableCount);
    }

    [Fact]
    public void StaticIndex_IsCanonicalForEveryWayTheNameArrives()
    {
        var decoder = new HpackDecoder();
        var sink = new RecordingSink();
        var block = Block(b =>
        {
            Indexed(b, 3); // :method POST
            Indexed(b, 13); // :status 404
            Literal(b, 0x00, 0, "content-type", "text/plain", huffman: true);
            Literal(b, 0x40, 5, null, "/a"); // :path, by the name of entry 5
            Literal(b, 0x00, 0, "x-custom", "1");
            Indexed(b, 62); // the :path entry just added
        });
        Assert.Equal(HpackStatus.Ok, decoder.Decode(block, sink));
        Assert.Equal([":method: POST", ":status: 404", "content-type: text/plain", ":path: /a", "x-custom: 1", ":path: /a"], sink.Fields);
        Assert.Equal([HpackStaticTable.Method, HpackStaticTable.Status, HpackStaticTable.ContentType, HpackStaticTable.Path, 0, HpackStaticTable.Path], sink.StaticIndices);
    }

    [Fact]
    public void Strings_AreBoundedAt64KiB()
    {
        string limit = new('a', HpackDecoder.MaxStringLength);
        Assert.Equal(HpackStatus.Ok, Decode(new HpackDecoder(), Block(b => Literal(b, 0x00, 0, "x", limit))).Status);
        Assert.Equal(HpackStatus.Ok, Decode(new HpackDecoder(), Block(b => Literal(b, 0x00, 0, "x", limit, huffman: true))).Status);
        Assert.Equal(HpackStatus.Error, Decode(new HpackDecoder(), Block(b => Literal(b, 0x00, 0, "x", limit + "a"))).Status);
        Assert.Equal(HpackStatus.Error, Decode(new HpackDecoder(), Block(b => Literal(b, 0x00, 0, "x", limit + "a", huffman: true))).Status);
    }

    [Fact]
    public void LiteralLongerThanTheBlock_IsAnError()
    {
        Assert.Equal(HpackStatus.Error, Decode(new HpackDecoder(), [0x00, 0x05, (byte)'x']).Status);
    }

    [Fact]
    public void SteadyState_AllocatesNothing()
    {
        var decoder = new HpackDecoder();
        var first = Block(b =>
        {
            Indexed(b, 2);
            Literal(b, 0x40, 1, null, "api.example.com", huffman: true);
            Literal(b, 0x40, 58, null, "Mozilla/5.0 (X11; Linux x86_64)", huffman: true);
            Literal(b, 0x40, 0, "x-request-id", "0123456789abcdef", huffman: true);
        });
        var warm = Block(b =>
        {
            Indexed(b, 2);
            Indexed(b, 7);
            Literal(b, 0x00, 4, null, "/api/v1/users/12345", huffman: true);
            Indexed(b, 64);
            Indexed(b, 63);
            Indexed(b, 62);
            // Added on every block: the table keeps evicting and compacting its bytes.
            Literal(b, 0x40, 0, "x-trace", "00000000000000000000000000000000", huffman: true);
        });
        var sink = new NullSink();
        Assert.Equal(HpackStatus.Ok, decoder.Decode(first, sink));
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(HpackStatus.Ok, decoder.Decode(warm, sink));
        }
        long allocated = Allocations.LeastOf(3, () =>
        {
            for (int i = 0; i < 1000; i++)
            {
                decoder.Decode(warm, sink);
            }
        });
        Assert.Equal(0, allocated);
    }

    private sealed class NullSink : IHpackHeaderSink
    {
        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int staticIndex)
        {
        }

        public void OnUnknownHeader(ReadOnlySpan<byte> value, bool nameOnly)
        {
        }
    }
}
