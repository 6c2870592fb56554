using System.Numerics;

namespace Tattle.Protocols.Http2.Hpack;

/// <summary>
/// Decodes HPACK header blocks (RFC 7541) of one direction of an HTTP/2 connection, also when attached
/// mid-connection: fields that reference dynamic-table entries it never saw are reported as unknown, never guessed.
/// </summary>
/// <remarks>
/// Peer entries the decoder did not see inserted are always older than every entry it saw, so dynamic indices
/// 1..<see cref="TableCount"/> decode correctly and larger ones are unknown. Those older entries are provably gone
/// once the known entries alone leave no room for one (an entry costs at least 32 bytes), after a size update,
/// or after an entry too large for any table the peer may have. Until a size update is seen the peer's table size
/// is unknown; <see cref="MaxTableSizeLimit"/> bounds it, so the decoder evicts at that bound and keeps every entry
/// the peer may still reference.
/// </remarks>
public sealed class HpackDecoder
{
    /// <summary>Longest name or value accepted, after Huffman decoding: bounds the scratch memory.</summary>
    public const int MaxStringLength = 64 * 1024;

    // Four continuation bytes carry 28 bits; a fifth reaches past int range and is only accepted while it fits.
    private const int MaxContinuationBytes = 5;

    private readonly HpackDynamicTable _table;
    private byte[] _nameScratch = [];
    private byte[] _valueScratch = [];
    private int _limit;
    private int _maxSize;
    private bool _maxSizeKnown;

    /// <param name="maxTableSize">
    /// The table size both sides start with (HTTP/2: 4096) and the limit advertised; negative as for
    /// <see cref="MaxTableSizeLimit"/>.
    /// </param>
    /// <param name="synchronized">False when attaching to a connection whose earlier blocks were not seen.</param>
    public HpackDecoder(int maxTableSize = 4096, bool synchronized = true)
    {
        MaxTableSizeLimit = maxTableSize;
        _maxSize = _limit;
        _maxSizeKnown = synchronized;
        _table = new HpackDynamicTable();
        Synchronized = synchronized;
        CheckResynchronized();
    }

    /// <summary>True when every entry the peer's encoder may reference is known.</summary>
    public bool Synchronized { get; private set; }

    /// <summary>
    /// SETTINGS_HEADER_TABLE_SIZE the decoding side advertised (the encoder's upper bound for size updates). A
    /// negative value, a 32-bit setting above int range cast to int, is taken as <see cref="int.MaxValue"/>.
    /// </summary>
    public int MaxTableSizeLimit
    {
        get => _limit;
        set => _limit = value < 0 ? int.MaxValue : value;
    }

    /// <summary>RFC 7541 §4.1 size of the known entries.</summary>
    public int TableSize => _table.Size;

    /// <summary>Number of known entries.</summary>
    public int TableCount => _table.Count;

    /// <summary>The table size the encoder last set (§4.2), or the initial one.</summary>
    public int MaxTableSize => _maxSize;

    /// <summary>
    /// During a sink call: true when the field was sent "never indexed" (§6.2.3), the sender's mark for a value an
    /// intermediary must not compress, such as a credential.
    /// </summary>
    public bool FieldNeverIndexed { get; private set; }

    // In unknown-size state the peer's size is at most the limit: evicting there keeps whatever it may reference.
    private int EffectiveMaxSize => _maxSizeKnown ? _maxSize : _limit;

    /// <summary>Decodes one complete header block (HEADERS + CONTINUATION fragments already concatenated by the caller).</summary>
    public HpackStatus Decode(ReadOnlySpan<byte> block, IHpackHeaderSink sink)
    {
        var status = HpackStatus.Ok;
        int position = 0;
        bool atStart = true;
        while (position < block.Length)
        {
            byte first = block[position];
            HpackStatus field;
            if ((first & 0xE0) == 0x20)
            {
                // §4.2: size updates only open a block, and never above what the decoding side advertised.
                if (!atStart || !TryReadInteger(block, ref position, 5, out int size) || size > _limit)
                {
                    return Fail();
                }
                SetMaxSize(size);
                continue;
            }
            atStart = false;
            if ((first & 0x80) != 0)
            {
                field = Indexed(block, ref position, sink);
            }
            else if ((first & 0x40) != 0)
            {
                field = Literal(block, ref position, 6, addToTable: true, neverIndexed: false, sink);
            }
            else
            {
                field = Literal(block, ref position, 4, addToTable: false, neverIndexed: (first & 0x10) != 0, sink);
            }
            if (field == HpackStatus.Error)
            {
                return Fail();
            }
            if (field == HpackStatus.Incomplete)
            {
                status = HpackStatus.Incomplete;
            }
        }
        return status;
    }

    /// <summary>
    /// The dynamic table's contents are no longer known (a gap in the stream, a block that could not be decoded):
    /// everything currently held becomes unknown; entries added from now on are known.
    /// </summary>
    public void Desynchronize()
    {
        // A gap may have held a size update too.
        _maxSizeKnown = false;
        ForgetEntries();
    }

    private HpackStatus Fail()
    {
        FieldNeverIndexed = false;
        Desynchronize();
        return HpackStatus.Error;
    }

    private void ForgetEntries()
    {
        _table.Clear();
        Synchronized = false;
        CheckResynchronized();
    }

    private void CheckResynchronized()
    {
        if (!Synchronized && (long)_table.Size + HpackDynamicTable.EntryOverhead > EffectiveMaxSize)
        {
            Synchronized = true;
        }
    }

    private void SetMaxSize(int size)
    {
        _maxSize = size;
        _maxSizeKnown = true;
        _table.EvictTo(size);
        CheckResynchronized();
    }

    private enum Lookup : byte
    {
        Known,
        Unknown,
        Invalid,
    }

    private Lookup Find(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value, out int staticName)
    {
        if (index is > 0 and <= HpackStaticTable.Count)
        {
            name = HpackStaticTable.Name(index);
            value = HpackStaticTable.Value(index);
            staticName = HpackStaticTable.CanonicalIndex(index);
            return Lookup.Known;
        }
        name = value = default;
        staticName = 0;
        int dynamic = index - HpackStaticTable.Count;
        if (dynamic <= 0)
        {
            return Lookup.Invalid;
        }
        if (dynamic <= _table.Count)
        {
            _table.Get(dynamic, out name, out value, out staticName);
            return Lookup.Known;
        }
        // Beyond what any table the peer may hold could index: malformed, not merely unknown.
        return !Synchronized && dynamic <= EffectiveMaxSize / HpackDynamicTable.EntryOverhead ? Lookup.Unknown : Lookup.Invalid;
    }

    private HpackStatus Indexed(ReadOnlySpan<byte> block, ref int position, IHpackHeaderSink sink)
    {
        if (!TryReadInteger(block, ref position, 7, out int index))
        {
            return HpackStatus.Error;
        }
        switch (Find(index, out var name, out var value, out int staticName))
        {
            case Lookup.Known:
                sink.OnHeader(name, value, staticName);
                return HpackStatus.Ok;
            case Lookup.Unknown:
                sink.OnUnknownHeader(default, nameOnly: false);
                return HpackStatus.Incomplete;
            default:
                return HpackStatus.Error;
        }
    }

    private HpackStatus Literal(ReadOnlySpan<byte> block, ref int position, int prefixBits, bool addToTable, bool neverIndexed, IHpackHeaderSink sink)
    {
        if (!TryReadInteger(block, ref position, prefixBits, out int nameIndex))
        {
            return HpackStatus.Error;
        }
        ReadOnlySpan<byte> name;
        int staticName;
        var lookup = Lookup.Known;
        if (nameIndex == 0)
        {
            if (!TryReadString(block, ref position, ref _nameScratch, out name))
            {
                return HpackStatus.Error;
            }
            staticName = HpackStaticTable.Find(name);
        }
        else
        {
            lookup = Find(nameIndex, out name, out _, out staticName);
            if (lookup == Lookup.Invalid)
            {
                return HpackStatus.Error;
            }
        }
        if (!TryReadString(block, ref position, ref _valueScratch, out var value))
        {
            return HpackStatus.Error;
        }

        FieldNeverIndexed = neverIndexed;
        if (lookup == Lookup.Known)
        {
            sink.OnHeader(name, value, staticName);
        }
        else
        {
            sink.OnUnknownHeader(value, nameOnly: true);
        }
        FieldNeverIndexed = false;

        if (addToTable)
        {
            if (lookup == Lookup.Unknown)
            {
                AddUnknown(value.Length);
            }
            else
            {
                if (nameIndex > HpackStaticTable.Count)
                {
                    // The entry the name lives in may be evicted, and its bytes moved, by this very insertion (§4.4).
                    name = CopyToScratch(name, ref _nameScratch);
                }
                Add(name, value, staticName);
            }
        }
        return lookup == Lookup.Known ? HpackStatus.Ok : HpackStatus.Incomplete;
    }

    private void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int staticName)
    {
        int maxSize = EffectiveMaxSize;
        _table.Add(name, value, staticName, maxSize);
        if (!Synchronized && (long)name.Length + value.Length + HpackDynamicTable.EntryOverhead > maxSize)
        {
            // Too large for any table the peer may hold: the peer emptied its table, unknown entries included.
            Synchronized = true;
        }
        CheckResynchronized();
    }

    /// <summary>The peer added an entry whose name this decoder does not know.</summary>
    private void AddUnknown(int valueLength)
    {
        // Its size is unknown, so which older entries it evicted is too: none of them can be trusted.
        ForgetEntries();
        if (!Synchronized && (long)valueLength + HpackDynamicTable.EntryOverhead > EffectiveMaxSize)
        {
            Synchronized = true;
        }
    }

    private static ReadOnlySpan<byte> CopyToScratch(ReadOnlySpan<byte> source, ref byte[] scratch)
    {
        EnsureScratch(ref scratch, source.Length);
        source.CopyTo(scratch);
        return scratch.AsSpan(0, source.Length);
    }

    private static void EnsureScratch(ref byte[] scratch, int length)
    {
        if (scratch.Length < length)
        {
            // Grows by doubling up to the string bound: a connection settles on a size and then never allocates.
            scratch = new byte[Math.Min(MaxStringLength, Math.Max(256, (int)BitOperations.RoundUpToPowerOf2((uint)length)))];
        }
    }

    /// <summary>A string literal (§5.2), Huffman-decoded into <paramref name="scratch"/> when it is encoded.</summary>
    private static bool TryReadString(ReadOnlySpan<byte> block, scoped ref int position, scoped ref byte[] scratch, out ReadOnlySpan<byte> text)
    {
        text = default;
        if (position >= block.Length)
        {
            return false;
        }
        bool huffman = (block[position] & 0x80) != 0;
        if (!TryReadInteger(block, ref position, 7, out int length) || length > block.Length - position)
        {
            return false;
        }
        var raw = block.Slice(position, length);
        position += length;
        if (!huffman)
        {
            text = raw;
            return length <= MaxStringLength;
        }
        // A code is at least 5 bits: the decoded length is at most 8/5 of the encoded one.
        int room = (int)Math.Min(MaxStringLength, (long)length * 8 / 5);
        EnsureScratch(ref scratch, room);
        int decoded = HpackHuffman.Decode(raw, scratch.AsSpan(0, room));
        if (decoded < 0)
        {
            return false;
        }
        text = scratch.AsSpan(0, decoded);
        return true;
    }

    /// <summary>An integer with an N-bit prefix (§5.1); false when truncated or beyond int range.</summary>
    internal static bool TryReadInteger(ReadOnlySpan<byte> block, ref int position, int prefixBits, out int value)
    {
        value = 0;
        if (position >= block.Length)
        {
            return false;
        }
        int max = (1 << prefixBits) - 1;
        int prefix = block[position++] & max;
        if (prefix < max)
        {
            value = prefix;
            return true;
        }
        long total = prefix;
        for (int i = 0; i < MaxContinuationBytes && position < block.Length; i++)
        {
            byte b = block[position++];
            total += (long)(b & 0x7F) << (7 * i);
            if (total > int.MaxValue)
            {
                return false;
            }
            if ((b & 0x80) == 0)
            {
                value = (int)total;
                return true;
            }
        }
        return false;
    }
}
