namespace Tattle.Capture.Elf;

/// <summary>Every defined function of an object whose name a predicate accepts, from `.dynsym` and `.symtab`.</summary>
public sealed partial class ElfFile
{
    private const byte SymbolTypeFunction = 2;
    private const byte SymbolTypeIndirect = 10;

    /// <summary>
    /// The defined functions (STT_FUNC, and STT_GNU_IFUNC resolvers) whose name <paramref name="accept"/> takes, one
    /// per address and name, with their file offsets; `.dynsym` first, then `.symtab` for what it adds (static
    /// functions, an executable's own). Versioned duplicates of one name at one address count once.
    /// </summary>
    public ElfStatus ReadFunctions(Func<string, bool> accept, out IReadOnlyList<ElfFunction> functions)
    {
        ArgumentNullException.ThrowIfNull(accept);
        functions = [];
        var list = new List<ElfFunction>();
        var seen = new HashSet<(string, ulong)>();
        foreach (var table in (ReadOnlySpan<SymbolTableRange?>)[_dynsym, _symtab])
        {
            if (table is not { } t)
            {
                continue;
            }
            if (t.Size > MaxTableBytes || t.StringsSize > MaxTableBytes)
            {
                return ElfStatus.Malformed;
            }
            if (!TryReadRange(t.Offset, t.Size, out var syms) || !TryReadRange(t.StringsOffset, t.StringsSize, out var strings))
            {
                return ElfStatus.Truncated;
            }
            for (int i = 1; i < syms.Length / SymbolScanner.SymSize; i++)
            {
                var sym = syms.AsSpan(i * SymbolScanner.SymSize, SymbolScanner.SymSize);
                byte type = (byte)(sym[4] & 0xf);
                ushort section = U16(sym, 6);
                ulong address = U64(sym, 8);
                if (type is not (SymbolTypeFunction or SymbolTypeIndirect) || section == 0 || address == 0)
                {
                    continue;
                }
                string? name = CString(strings, U32(sym, 0));
                if (string.IsNullOrEmpty(name) || !accept(name) || !seen.Add((name, address)) || !TryGetFileOffset(address, out ulong offset))
                {
                    continue;
                }
                list.Add(new ElfFunction(name, address, U64(sym, 16), offset, t.Table));
            }
        }
        functions = list;
        return ElfStatus.Ok;
    }
}
