using System.Text;

namespace Tattle.Capture.Elf;

/// <summary>Listing of the dynamic symbol table with symbol versions, and the soname.</summary>
/// <remarks>
/// Layouts from the gABI ("Symbol Table", "Dynamic Section") and the LSB Core spec ("Symbol Versioning"):
/// `.gnu.version` is one Elf64_Half per `.dynsym` entry (bit 15 hidden, the rest a version index; 0 local, 1 global),
/// `.gnu.version_d` a chain of Elf64_Verdef each with Elf64_Verdaux names, `.gnu.version_r` a chain of Elf64_Verneed
/// each with Elf64_Vernaux entries whose vna_other is the index symbols refer to.
/// </remarks>
public sealed partial class ElfFile
{
    private const uint ShtDynamic = 6;
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;
    private const long DtSoname = 14;
    private const int VerdefSize = 20;
    private const int VerdauxSize = 8;
    private const int VerneedSize = 16;
    private const int VernauxSize = 16;
    private const ushort VerFlgBase = 1;

    // Tables are read whole for a listing: far above any real one (/usr/bin/node's .dynstr is 5.3 MB), and a corrupt
    // size is refused before it can ask for gigabytes.
    private const ulong MaxTableBytes = 64 << 20;

    /// <summary>
    /// Every `.dynsym` entry after the null one, in table order, its version resolved through `.gnu.version`,
    /// `.gnu.version_d` and `.gnu.version_r`. An object without `.dynsym` gives an empty list.
    /// </summary>
    public ElfStatus ReadDynamicSymbols(out IReadOnlyList<ElfDynamicSymbol> symbols)
    {
        symbols = [];
        if (_dynsym is not { } table)
        {
            return ElfStatus.Ok;
        }
        var status = ReadVersions(out var versions);
        if (status != ElfStatus.Ok)
        {
            return status;
        }
        if (!TryReadRange(table.Offset, table.Size, out var syms) || !TryReadRange(table.StringsOffset, table.StringsSize, out var strings))
        {
            return ElfStatus.Truncated;
        }
        byte[] versym = [];
        if (FindSection(ShtGnuVersym) is { } vs && !TryReadRange(vs.Offset, vs.Size, out versym))
        {
            return ElfStatus.Truncated;
        }
        var names = versions.Definitions.Select(d => (d.Index, d.Name))
            .Concat(versions.Needs.SelectMany(n => n.Versions.Select(v => (v.Index, v.Name))))
            .GroupBy(v => v.Index).ToDictionary(g => g.Key, g => g.First().Name);
        var list = new List<ElfDynamicSymbol>(syms.Length / SymbolScanner.SymSize);
        for (int i = 1; i < syms.Length / SymbolScanner.SymSize; i++)
        {
            var sym = syms.AsSpan(i * SymbolScanner.SymSize, SymbolScanner.SymSize);
            string name = CString(strings, U32(sym, 0)) ?? "";
            ushort raw = 2 * i + 1 < versym.Length ? U16(versym, 2 * i) : (ushort)0;
            int index = raw & 0x7fff;
            string? version = index > 1 && names.TryGetValue(index, out var v) && v != name ? v : null;
            list.Add(new ElfDynamicSymbol(name, version, (raw & 0x8000) != 0, U16(sym, 6), (byte)(sym[4] >> 4), (byte)(sym[4] & 0xf), U64(sym, 8), U64(sym, 16)));
        }
        symbols = list;
        return ElfStatus.Ok;
    }

    /// <summary>DT_SONAME and the version definitions and needs; empty when the object has none.</summary>
    public ElfStatus ReadVersions(out ElfVersions versions)
    {
        versions = new ElfVersions(null, [], []);
        var status = ReadLinked(ShtDynamic, out var dynamic, out var dynstr);
        if (status != ElfStatus.Ok)
        {
            return status;
        }
        string? soname = null;
        for (int at = 0; at + 16 <= dynamic.Length; at += 16)
        {
            long tag = (long)U64(dynamic, at);
            if (tag == 0)
            {
                break;
            }
            if (tag == DtSoname)
            {
                soname = CString(dynstr, U64(dynamic, at + 8));
            }
        }
        status = ReadLinked(ShtGnuVerdef, out var verdef, out var verdefStrings);
        if (status != ElfStatus.Ok)
        {
            return status;
        }
        status = ReadLinked(ShtGnuVerneed, out var verneed, out var verneedStrings);
        if (status != ElfStatus.Ok)
        {
            return status;
        }
        versions = new ElfVersions(soname, ParseVerdef(verdef, verdefStrings), ParseVerneed(verneed, verneedStrings));
        return ElfStatus.Ok;
    }

    /// <summary>The Elf64_Verdef chain: vd_version, vd_flags, vd_ndx, vd_cnt (u16), vd_hash, vd_aux, vd_next (u32).</summary>
    internal static IReadOnlyList<ElfVersionDefinition> ParseVerdef(ReadOnlySpan<byte> bytes, byte[] strings)
    {
        var list = new List<ElfVersionDefinition>();
        long at = 0;
        // Each entry advances by vd_next; a bound on the count keeps a cycle (vd_next pointing back) finite.
        for (int n = 0; n < bytes.Length / VerdefSize && at >= 0 && at + VerdefSize <= bytes.Length; n++)
        {
            var d = bytes.Slice((int)at, VerdefSize);
            long aux = at + U32(d, 12);
            string? name = aux + VerdauxSize <= bytes.Length ? CString(strings, U32(bytes, (int)aux)) : null;
            if (name is not null)
            {
                list.Add(new ElfVersionDefinition(U16(d, 4), name, (U16(d, 2) & VerFlgBase) != 0));
            }
            uint next = U32(d, 16);
            if (next == 0)
            {
                break;
            }
            at += next;
        }
        return list;
    }

    /// <summary>The Elf64_Verneed chain (vn_version, vn_cnt u16; vn_file, vn_aux, vn_next u32) and their Elf64_Vernaux.</summary>
    internal static IReadOnlyList<ElfVersionNeed> ParseVerneed(ReadOnlySpan<byte> bytes, byte[] strings)
    {
        var list = new List<ElfVersionNeed>();
        long at = 0;
        int budget = bytes.Length / VernauxSize + 1;
        for (int n = 0; n < bytes.Length / VerneedSize && at >= 0 && at + VerneedSize <= bytes.Length; n++)
        {
            var e = bytes.Slice((int)at, VerneedSize);
            var needed = new List<ElfVersion>();
            long aux = at + U32(e, 8);
            for (int k = 0; k < U16(e, 2) && budget-- > 0 && aux >= 0 && aux + VernauxSize <= bytes.Length; k++)
            {
                var a = bytes.Slice((int)aux, VernauxSize);
                if (CString(strings, U32(a, 8)) is { } name)
                {
                    needed.Add(new ElfVersion(U16(a, 6), name));
                }
                uint next = U32(a, 12);
                if (next == 0)
                {
                    break;
                }
                aux += next;
            }
            list.Add(new ElfVersionNeed(CString(strings, U32(e, 4)) ?? "", needed));
            uint nextNeed = U32(e, 12);
            if (nextNeed == 0)
            {
                break;
            }
            at += nextNeed;
        }
        return list;
    }

    /// <summary>The NUL-terminated UTF-8 string at <paramref name="offset"/>, or null when it does not end inside the table.</summary>
    internal static string? CString(byte[] table, ulong offset)
    {
        if (offset >= (ulong)table.Length)
        {
            return null;
        }
        var rest = table.AsSpan((int)offset);
        int end = rest.IndexOf((byte)0);
        return end < 0 ? null : Encoding.UTF8.GetString(rest[..end]);
    }

    /// <summary>The first section of <paramref name="type"/> and the string table it links to; empty arrays when absent.</summary>
    private ElfStatus ReadLinked(uint type, out byte[] bytes, out byte[] strings)
    {
        bytes = [];
        strings = [];
        if (FindSection(type) is not { } s)
        {
            return ElfStatus.Ok;
        }
        if (s.Link >= _sections.Length || _sections[s.Link].Type != ShtStrtab)
        {
            return ElfStatus.Malformed;
        }
        var str = _sections[s.Link];
        return TryReadRange(s.Offset, s.Size, out bytes) && TryReadRange(str.Offset, str.Size, out strings) ? ElfStatus.Ok : ElfStatus.Truncated;
    }

    private SectionHeader? FindSection(uint type)
    {
        foreach (var s in _sections)
        {
            if (s.Type == type)
            {
                return s;
            }
        }
        return null;
    }

    private bool TryReadRange(ulong offset, ulong size, out byte[] bytes)
    {
        bytes = [];
        if (size > MaxTableBytes || !_source.Contains(offset, size))
        {
            return false;
        }
        bytes = new byte[size];
        try
        {
            return _source.ReadExactly(bytes, (long)offset);
        }
        catch (IOException)
        {
            return false;
        }
    }
}

/// <summary>One `.dynsym` entry with its version.</summary>
/// <param name="Name">The name as `.dynstr` holds it, without a version.</param>
/// <param name="Version">The version name, or null for unversioned (index 0 or 1) symbols.</param>
/// <param name="Hidden">Bit 15 of the versym: a non-default version of a definition (`name@V`, not `name@@V`).</param>
/// <param name="SectionIndex">st_shndx: 0 (SHN_UNDEF) for an import.</param>
/// <param name="Binding">STB_LOCAL 0, STB_GLOBAL 1, STB_WEAK 2, STB_GNU_UNIQUE 10.</param>
/// <param name="SymbolType">STT_NOTYPE 0, STT_OBJECT 1, STT_FUNC 2, STT_GNU_IFUNC 10, …</param>
/// <param name="Address">st_value.</param>
/// <param name="Size">st_size.</param>
public readonly record struct ElfDynamicSymbol(string Name, string? Version, bool Hidden, ushort SectionIndex, byte Binding, byte SymbolType, ulong Address, ulong Size)
{
    /// <summary>Defined in this object (st_shndx is not SHN_UNDEF).</summary>
    public bool Defined => SectionIndex != 0;

    /// <summary>STT_FUNC or STT_GNU_IFUNC.</summary>
    public bool IsFunction => SymbolType is 2 or 10;

    /// <summary>The name as `nm -D` prints it: `name@@V` for the default version of a definition, `name@V` otherwise.</summary>
    public string VersionedName => Version is null ? Name : Name + (Hidden || !Defined ? "@" : "@@") + Version;
}

/// <summary>A version name and the index `.gnu.version` entries use for it.</summary>
public readonly record struct ElfVersion(int Index, string Name);

/// <summary>A version this object defines; the base one (VER_FLG_BASE) carries the object's own name.</summary>
public readonly record struct ElfVersionDefinition(int Index, string Name, bool IsBase);

/// <summary>The versions this object needs from one library.</summary>
public sealed record ElfVersionNeed(string File, IReadOnlyList<ElfVersion> Versions);

/// <summary>An object's DT_SONAME and symbol versions.</summary>
public sealed record ElfVersions(string? Soname, IReadOnlyList<ElfVersionDefinition> Definitions, IReadOnlyList<ElfVersionNeed> Needs);
