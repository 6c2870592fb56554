namespace Tattle.Protocols.Http2.Hpack;

/// <summary>
/// The entries of an HPACK dynamic table (RFC 7541 §2.3.2, §4) that the decoder knows, newest first.
/// </summary>
/// <remarks>
/// Bytes live in one array, oldest to newest, end to end: eviction only moves the start forward. When an entry does
/// not fit after the end, the live bytes move to the front, into an array twice what they need when it is smaller:
/// moves happen at most once per table size of inserted bytes, every entry stays one contiguous span, and memory
/// follows what the peer stores rather than the size it may use (a peer's SETTINGS may allow 2 GiB).
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

    private byte[] _data = [];
    private int _dataStart;
    private int _dataEnd;
    private Entry[] _entries = new Entry[8];
    private int _oldest;

    /// <summary>Number of entries.</summary>
    public int Count { get; private set; }

    /// <summary>Sum of entry sizes (§4.1).</summary>
    public int Size { get; private set; }

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
    /// overwrite it).
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
            long needed = 2L * (live + length);
            byte[] target = needed > _data.Length ? new byte[Math.Min(needed, Array.MaxLength)] : _data;
            _data.AsSpan(_dataStart, live).CopyTo(target);
            _data = target;
            Rebase(_dataStart);
            _dataEnd = live;
            _dataStart = 0;
        }
        if (Count == _entries.Length)
        {
            var entries = new Entry[Count * 2];
            for (int i = 0; i < Count; i++)
            {
                entries[i] = _entries[(_oldest + i) % _entries.Length];
            }
            _entries = entries;
            _oldest = 0;
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
