using Tattle.Protocols.Http2.Hpack;
using static Tattle.Protocols.Http2.Hpack.HpackWriter;

namespace Tattle.Tests.Protocols.Http2.Hpack;

/// <summary>
/// A decoder attached to a connection whose earlier blocks it never saw, or that lost some: what it cannot know is
/// reported unknown, never guessed, and it resynchronises once the unknown entries are provably gone.
/// </summary>
public sealed class HpackMidConnectionTests
{
    private static (HpackStatus Status, List<string> Fields) Decode(HpackDecoder decoder, Action<List<byte>> build)
    {
        var bytes = new List<byte>();
        build(bytes);
        var sink = new RecordingSink();
        return (decoder.Decode(bytes.ToArray(), sink), sink.Fields);
    }

    [Fact]
    public void UnknownIndex_IsReportedAndTheBlockGoesOn()
    {
        var decoder = new HpackDecoder(synchronized: false);
        Assert.False(decoder.Synchronized);
        var (status, fields) = Decode(decoder, b =>
        {
            Indexed(b, 62);
            Indexed(b, 2);
            Literal(b, 0x00, 63, null, "v");
            Literal(b, 0x10, 4, null, "/p");
        });
        Assert.Equal(HpackStatus.Incomplete, status);
        Assert.Equal(["?", ":method: GET", "?: v", ":path: /p"], fields);
    }

    [Fact]
    public void EntriesAddedAfterAttaching_AreKnown_OlderOnesAreNot()
    {
        var decoder = new HpackDecoder(synchronized: false);
        Assert.Equal(HpackStatus.Ok, Decode(decoder, b => Literal(b, 0x40, 0, "a", "1")).Status);
        var (status, fields) = Decode(decoder, b => { Indexed(b, 62); Indexed(b, 63); Literal(b, 0x00, 62, null, "2"); });
        Assert.Equal(HpackStatus.Incomplete, status);
        Assert.Equal(["a: 1", "?", "a: 2"], fields);
        Assert.False(decoder.Synchronized);
    }

    [Fact]
    public void IndexNoTableCouldHold_IsAnError()
    {
        // 4096 / 32 = 128 entries at most: dynamic index 129 cannot exist whatever was missed.
        var decoder = new HpackDecoder(4096, synchronized: false);
        Assert.Equal(HpackStatus.Incomplete, Decode(decoder, b => Indexed(b, 61 + 128)).Status);
        Assert.Equal(HpackStatus.Error, Decode(decoder, b => Indexed(b, 61 + 129)).Status);
    }

    [Fact]
    public void SizeUpdateToZero_Resynchronises()
    {
        var decoder = new HpackDecoder(synchronized: false);
        Decode(decoder, b => Literal(b, 0x40, 0, "a", "1"));
        var (status, fields) = Decode(decoder, b => { SizeUpdate(b, 0); SizeUpdate(b, 4096); Literal(b, 0x40, 0, "b", "2"); Indexed(b, 62); });
        Assert.Equal(HpackStatus.Ok, status);
        Assert.Equal(["b: 2", "b: 2"], fields);
        Assert.True(decoder.Synchronized);
        Assert.Equal(1, decoder.TableCount);
        // Synchronised, an index past the table is malformed rather than unknown.
        Assert.Equal(HpackStatus.Error, Decode(decoder, b => Indexed(b, 63)).Status);
    }

    [Fact]
    public void SizeUpdateLeavingNoRoomBesideKnownEntries_Resynchronises()
    {
        var decoder = new HpackDecoder(synchronized: false);
        Decode(decoder, b => Literal(b, 0x40, 0, "a", "1"));
        Assert.Equal(HpackStatus.Ok, Decode(decoder, b => { SizeUpdate(b, 66); Indexed(b, 62); }).Status);
        Assert.False(decoder.Synchronized); // 34 known + 32 for an unknown entry fits in 66
        Assert.Equal(HpackStatus.Ok, Decode(decoder, b => { SizeUpdate(b, 65); Indexed(b, 62); }).Status);
        Assert.True(decoder.Synchronized);
        Assert.Equal(1, decoder.TableCount);
    }

    [Fact]
    public void KnownEntriesFillingTheTable_Resynchronise()
    {
        var decoder = new HpackDecoder(256, synchronized: false);
        string value = new('v', 80); // entries of 32 + 1 + 80 = 113 bytes
        Decode(decoder, b => Literal(b, 0x40, 0, "a", value));
        Assert.False(decoder.Synchronized); // 113 + 32 <= 256: an unknown entry may remain
        Decode(decoder, b => Literal(b, 0x40, 0, "b", value));
        Assert.True(decoder.Synchronized); // 226 + 32 > 256
        var (status, fields) = Decode(decoder, b => { Indexed(b, 62); Indexed(b, 63); });
        Assert.Equal(HpackStatus.Ok, status);
        Assert.Equal([$"b: {value}", $"a: {value}"], fields);
    }

    [Fact]
    public void EntryTooLargeForAnyTable_Resynchronises()
    {
        var decoder = new HpackDecoder(256, synchronized: false);
        Decode(decoder, b => Literal(b, 0x40, 0, "a", new string('v', 300)));
        Assert.True(decoder.Synchronized);
        Assert.Equal(0, decoder.TableCount);
    }

    [Fact]
    public void Desynchronize_ForgetsEverythingHeld()
    {
        var decoder = new HpackDecoder();
        Decode(decoder, b => Literal(b, 0x40, 0, "a", "1"));
        decoder.Desynchronize();
        Assert.False(decoder.Synchronized);
        Assert.Equal(0, decoder.TableCount);
        Assert.Equal(0, decoder.TableSize);
        Assert.Equal(["?"], Decode(decoder, b => Indexed(b, 62)).Fields);
    }

    [Fact]
    public void UnknownNameAddedToTheTable_MakesEveryHeldEntryUntrustworthy()
    {
        var decoder = new HpackDecoder(synchronized: false);
        Decode(decoder, b => Literal(b, 0x40, 0, "a", "1"));
        // The peer adds (name of its entry 63, "x"): of unknown size, so which entries it evicted is unknown too.
        var (status, fields) = Decode(decoder, b => Literal(b, 0x40, 63, null, "x"));
        Assert.Equal(HpackStatus.Incomplete, status);
        Assert.Equal(["?: x"], fields);
        Assert.Equal(0, decoder.TableCount);
        Decode(decoder, b => Literal(b, 0x40, 0, "b", "2"));
        Assert.Equal(["b: 2", "?"], Decode(decoder, b => { Indexed(b, 62); Indexed(b, 63); }).Fields);
    }

    [Fact]
    public void MalformedBlock_Desynchronises()
    {
        var decoder = new HpackDecoder();
        Decode(decoder, b => Literal(b, 0x40, 0, "a", "1"));
        Assert.Equal(HpackStatus.Error, decoder.Decode([0x82, 0x00, 0x05], new RecordingSink()));
        Assert.False(decoder.Synchronized);
        Assert.Equal(0, decoder.TableCount);
        Assert.Equal(["?"], Decode(decoder, b => Indexed(b, 62)).Fields);
    }

    [Fact]
    public void AfterAGap_KnownSizeIsForgotten_TheLimitBoundsTheTable()
    {
        // The gap may have held a size update to anything up to the limit: 66 no longer proves anything.
        var decoder = new HpackDecoder(66);
        decoder.MaxTableSizeLimit = 4096;
        decoder.Desynchronize();
        Decode(decoder, b => Literal(b, 0x40, 0, "a", "1"));
        Assert.False(decoder.Synchronized);
        Assert.Equal(["?"], Decode(decoder, b => Indexed(b, 63)).Fields);
    }
}
