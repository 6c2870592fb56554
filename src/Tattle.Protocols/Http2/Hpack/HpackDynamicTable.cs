namespace Tattle.Protocols.Http2.Hpack;

/// <summary>
/// The entries of an HPACK dynamic table (RFC 7541 §2.3.2, §4) that the decoder knows, newest first.
/// </summary>
/// <remarks>
/// Bytes live in one array, oldest to newest, end to end: eviction only moves the start forward. When an entry does
/// not fit after the end, the live bytes move to the front; the array holds twice the largest table size, so that
/// happens at most once per table size of inserted bytes and every entry stays one contiguous span.
/// </remarks>
internal sealed class HpackDynamicTable
{
    /// <summary>Per-entry overhead in the table size (§4.1).</summary>
    public const int EntryOverhead = 32;

    private struct Entry
    {
        public int Offset;
        public int NameLength;
        public int ValueLength;
        public int StaticName;
    }

    private byte[] _data;
    private int _dataStart;
    private int _dataEnd;
    private Entry[] _entries;
    private int _oldest;

    public HpackDynamicTable(int maxSize)
    {
        _data = new byte[2 * Math.Max(maxSize, 0)];
        _entries = new Entry[(Math.Max(maxSize, 0) / EntryOverhead) + 1];
    }

    /// <summary>Number of entries.</summary>
    public int Count { get; private set; }

    /// <summary>Sum of entry sizes (§4.1).</summary>
    public int Size { get; private set; }

    /// <summary>Makes room for tables up to <paramref name="maxSize"/>, keeping the entries.</summary>
    public void EnsureCapacity(int maxSize)
    {
        if (2L * maxSize > _data.Length)
        {
            var data = new byte[2 * maxSize];
            _data.AsSpan(_dataStart, _dataEnd - _dataStart).CopyTo(data);
            Rebase(_dataStart);
            _dataEnd -= _dataStart;
            _dataStart = 0;
            _data = data;
        }
        if (maxSize / EntryOverhead + 1 > _entries.Length)
        {
            var entries = new Entry[(maxSize / EntryOverhead) + 1];
            for (int i = 0; i < Count; i++)
            {
                entries[i] = _entries[(_oldest + i) % _entries.Length];
            }
            _entries = entries;
            _oldest = 0;
        }
    }

    /// <summary>Entry <paramref name="index"/>, 1 being the newest.</summary>
    public void Get(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value, out int staticName)
    {
        ref readonly Entry e = ref _entries[(_oldest + Count - index) % _entries.Length];
        name = _data.AsSpan(e.Offset, e.NameLength);
        value = _data.AsSpan(e.Offset + e.NameLength, e.ValueLength);
        staticName = e.StaticName;
    }

    /// <summary>Evicts the oldest entries until the table size is at most <paramref name="maxSize"/>.</summary>
    public void EvictTo(int maxSize)
    {
        while (Size > maxSize && Count > 0)
        {
            ref readonly Entry e = ref _entries[_oldest];
            Size -= e.NameLength + e.ValueLength + EntryOverhead;
            _dataStart = e.Offset + e.NameLength + e.ValueLength;
            _oldest = (_oldest + 1) % _entries.Length;
            Count--;
        }
        if (Count == 0)
        {
            _dataStart = _dataEnd = _oldest = 0;
        }
    }

    /// <summary>Removes every entry.</summary>
    public void Clear() => EvictTo(-1);

    /// <summary>
    /// Adds an entry after evicting what <paramref name="maxSize"/> requires (§4.4): an entry larger than the
    /// table empties it and is not added. Neither span may point into this table (eviction and the move may
    /// overwrite it). The caller ensured capacity for <paramref name="maxSize"/>.
    /// </summary>
    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int staticName, int maxSize)
    {
        long size = (long)name.Length + value.Length + EntryOverhead;
        if (size > maxSize)
        {
            Clear();
            return;
        }
        EvictTo(maxSize - (int)size);
        int length = name.Length + value.Length;
        if (_dataEnd + length > _data.Length)
        {
            int live = _dataEnd - _dataStart;
            _data.AsSpan(_dataStart, live).CopyTo(_data);
            Rebase(_dataStart);
            _dataEnd = live;
            _dataStart = 0;
        }
        int offset = _dataEnd;
        name.CopyTo(_data.AsSpan(offset));
        value.CopyTo(_data.AsSpan(offset + name.Length));
        _dataEnd += length;
        _entries[(_oldest + Count) % _entries.Length] = new Entry
        {
            Offset = offset,
            NameLength = name.Length,
            ValueLength = value.Length,
            StaticName = staticName,
        };
        Count++;
        Size += (int)size;
    }

    private void Rebase(int shift)
    {
        for (int i = 0; i < Count; i++)
        {
            _entries[(_oldest + i) % _entries.Length].Offset -= shift;
        }
    }
}
