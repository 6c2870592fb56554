using System.Buffers;
using System.Text;

namespace Tattle.Capture.Elf;

/// <summary>Finds named function symbols by streaming a symbol table and its string table in fixed-size chunks.</summary>
/// <remarks>
/// A large object's tables run to megabytes (/usr/bin/node: 1.8 MB .dynsym, 5.3 MB .dynstr, 10 MB more in .symtab and
/// .strtab). Rather than load them, the string table is searched first for the wanted names (a vectorised search per
/// chunk); only when a name occurs there are the 24-byte Elf64_Sym entries read, looking for st_name equal to one of
/// those offsets. An object that does not mention the names (libc, most of a process's libraries) costs one pass over
/// its string table. Offsets of every occurrence are kept, not only those at a string's start: linkers merge a name
/// into the tail of a longer one, and st_name then points into the middle of it.
/// </remarks>
internal static class SymbolScanner
{
    /// <summary>sizeof(Elf64_Sym).</summary>
    internal const int SymSize = 24;

    private const byte SttFunc = 2;
    private const byte StbLocal = 0;
    private const byte StbGlobal = 1;
    private const byte StbWeak = 2;
    private const byte StbGnuUnique = 10;
    private const ushort ShnUndef = 0;
    private const int ChunkBytes = 1 << 20;
    private const int SymbolsPerChunk = 64 * 1024 / SymSize;
    private const int MaxNameBytes = 1024;

    /// <summary>Fills the empty slots of <paramref name="found"/> with the functions <paramref name="table"/> defines.</summary>
    internal static void Scan(ElfSource source, SymbolTableRange table, ReadOnlySpan<string> names, ElfFunction?[] found, ElfFile file)
    {
        var patterns = new byte[]?[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            patterns[i] = found[i] is null ? NamePattern(names[i]) : null;
        }
        var offsets = FindNameOffsets(source, table, patterns);
        if (offsets.Count == 0)
        {
            return;
        }
        var ranks = new int[names.Length];
        byte[] buffer = ArrayPool<byte>.Shared.Rent(SymbolsPerChunk * SymSize);
        try
        {
            for (ulong at = 0; at < table.Size;)
            {
                int want = (int)Math.Min((ulong)(SymbolsPerChunk * SymSize), table.Size - at);
                var chunk = buffer.AsSpan(0, want);
                if (!source.ReadExactly(chunk, (long)(table.Offset + at)))
                {
                    return;
                }
                for (int s = 0; s < want; s += SymSize)
                {
                    Consider(chunk.Slice(s, SymSize), offsets, names, table.Table, found, ranks, file);
                }
                at += (ulong)want;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>"name\0" in UTF-8, or null for a name no symbol can have (empty, embedded NUL, absurdly long).</summary>
    private static byte[]? NamePattern(string name)
    {
        if (name.Length == 0 || name.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }
        var bytes = Encoding.UTF8.GetBytes(name + "\0");
        return bytes.Length > MaxNameBytes ? null : bytes;
    }

    /// <summary>Elf64_Sym: st_name u32, st_info u8 (bind &lt;&lt; 4 | type), st_other u8, st_shndx u16, st_value u64, st_size u64.</summary>
    private static void Consider(ReadOnlySpan<byte> sym, Dictionary<uint, int> offsets, ReadOnlySpan<string> names, ElfSymbolTable table, ElfFunction?[] found, int[] ranks, ElfFile file)
    {
        if (!offsets.TryGetValue(ElfFile.U32(sym, 0), out int index))
        {
            return;
        }
        byte info = sym[4];
        int type = info & 0xf;
        int rank = (info >> 4) switch
        {
            StbGlobal or StbGnuUnique => 3,
            StbWeak => 2,
            StbLocal => 1,
            _ => 0,
        };
        ulong value = ElfFile.U64(sym, 8);
        // Only STT_FUNC: STT_GNU_IFUNC is left out on purpose (see ElfFile.FindFunctions).
        if (type != SttFunc || ElfFile.U16(sym, 6) == ShnUndef || value == 0 || rank <= ranks[index])
        {
            return;
        }
        if (!file.TryGetFileOffset(value, out ulong fileOffset))
        {
            return;
        }
        ranks[index] = rank;
        found[index] = new ElfFunction(names[index], value, ElfFile.U64(sym, 16), fileOffset, table);
    }

    /// <summary>Every string-table offset at which one of the patterns starts, mapped to the pattern's index.</summary>
    private static Dictionary<uint, int> FindNameOffsets(ElfSource source, SymbolTableRange table, byte[]?[] patterns)
    {
        var offsets = new Dictionary<uint, int>();
        int longest = patterns.Max(p => p?.Length ?? 0);
        if (longest == 0 || table.StringsSize == 0)
        {
            return offsets;
        }
        int chunkSize = (int)Math.Min((ulong)ChunkBytes, table.StringsSize);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(chunkSize);
        try
        {
            ulong at = 0;
            while (true)
            {
                int want = (int)Math.Min((ulong)chunkSize, table.StringsSize - at);
                var chunk = buffer.AsSpan(0, want);
                if (!source.ReadExactly(chunk, (long)(table.StringsOffset + at)))
                {
                    return offsets;
                }
                AddOccurrences(chunk, at, patterns, offsets);
                if (at + (ulong)want >= table.StringsSize)
                {
                    return offsets;
                }
                // Chunks overlap by one pattern less a byte, so a name across a boundary is seen whole in the next one.
                at += (ulong)(want - Math.Min(want - 1, longest - 1));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void AddOccurrences(ReadOnlySpan<byte> chunk, ulong chunkStart, byte[]?[] patterns, Dictionary<uint, int> offsets)
    {
        for (int p = 0; p < patterns.Length; p++)
        {
            if (patterns[p] is not { } pattern)
            {
                continue;
            }
            int from = 0;
            while (from < chunk.Length)
            {
                int i = chunk[from..].IndexOf(pattern);
                if (i < 0)
                {
                    break;
                }
                ulong offset = chunkStart + (ulong)(from + i);
                if (offset <= uint.MaxValue)
                {
                    offsets.TryAdd((uint)offset, p);
                }
                from += i + 1;
            }
        }
    }
}
