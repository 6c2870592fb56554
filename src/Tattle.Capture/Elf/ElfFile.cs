using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Tattle.Capture.Proc;

namespace Tattle.Capture.Elf;

/// <summary>An open ELF64 little-endian x86_64 object: its headers, load segments and build id; symbols on demand.</summary>
/// <remarks>
/// Only the ELF header, the program and section header tables and the notes are read at open; the symbol and string
/// tables are streamed in chunks by <see cref="FindFunctions"/>. Layouts follow the System V gABI ("ELF Header",
/// "Program Header", "Sections", "Symbol Table", "Note Section") and the x86_64 psABI.
/// </remarks>
public sealed partial class ElfFile : IDisposable
{
    private const int EhdrSize = 64;
    private const int PhdrSize = 56;
    private const int ShdrSize = 64;
    private const ushort EmX86_64 = 62;
    private const byte ElfClass32 = 1;
    private const byte ElfClass64 = 2;
    private const byte ElfData2Lsb = 1;
    private const byte ElfData2Msb = 2;
    private const uint PtLoad = 1;
    private const uint PtNote = 4;
    private const uint ShtSymtab = 2;
    private const uint ShtStrtab = 3;
    private const uint ShtNote = 7;
    private const uint ShtNobits = 8;
    private const uint ShtDynsym = 11;
    private const ushort PnXnum = 0xffff;
    private const ushort ShnXindex = 0xffff;

    // Real objects have tens of program headers and at most tens of thousands of sections (-ffunction-sections
    // relocatables); more than this is a corrupt count, refused before it can ask for a huge read.
    private const uint MaxSections = 1 << 20;

    // A build-id note is 36 bytes; a note section larger than this is not worth reading for it.
    private const int MaxNoteBytes = 64 * 1024;

    private readonly ElfSource _source;
    private readonly SymbolTableRange? _dynsym;
    private readonly SymbolTableRange? _symtab;
    private readonly SectionHeader[] _sections;
    private readonly uint _sectionNames;

    private ElfFile(ElfSource source, ushort type, ElfSegment[] loads, SymbolTableRange? dynsym, SymbolTableRange? symtab, string? buildId, SectionHeader[] sections, uint sectionNames)
    {
        _source = source;
        _sections = sections;
        _sectionNames = sectionNames;
        Type = type;
        LoadSegments = loads;
        _dynsym = dynsym;
        _symtab = symtab;
        BuildId = buildId;
    }

    /// <summary>e_type: 2 ET_EXEC (fixed-address executable), 3 ET_DYN (shared object or PIE), 1 ET_REL, 4 ET_CORE.</summary>
    public ushort Type { get; }

    /// <summary>The PT_LOAD segments in header order.</summary>
    public IReadOnlyList<ElfSegment> LoadSegments { get; }

    /// <summary>NT_GNU_BUILD_ID as lowercase hex, or null when the object has none.</summary>
    public string? BuildId { get; }

    /// <summary>True when the object has a `.dynsym` table (every dynamically linked object does).</summary>
    public bool HasDynSym => _dynsym is not null;

    /// <summary>True when the object still has its `.symtab` (it was not stripped).</summary>
    public bool HasSymTab => _symtab is not null;

    /// <summary>Opens and parses the headers of the file at <paramref name="path"/>.</summary>
    public static ElfStatus Open(string path, out ElfFile? file)
    {
        file = null;
        SafeFileHandle handle;
        try
        {
            handle = ProcNative.OpenRegularFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ElfStatus.IoError;
        }
        return Open(new FileElfSource(handle, ownsHandle: true), out file);
    }

    /// <summary>Parses the headers of an already open file; the handle stays the caller's and must outlive the result.</summary>
    public static ElfStatus Open(SafeFileHandle handle, out ElfFile? file)
    {
        ArgumentNullException.ThrowIfNull(handle);
        return Open(new FileElfSource(handle, ownsHandle: false), out file);
    }

    /// <summary>Parses bytes in memory (tests: prefixes and random bytes go through the same code as files).</summary>
    internal static ElfStatus Open(ReadOnlyMemory<byte> bytes, out ElfFile? file) => Open(new MemoryElfSource(bytes), out file);

    private static ElfStatus Open(ElfSource source, out ElfFile? file)
    {
        file = null;
        ElfStatus status;
        try
        {
            status = Parse(source, out file);
        }
        catch (IOException)
        {
            status = ElfStatus.IoError;
        }
        if (status != ElfStatus.Ok)
        {
            source.Dispose();
        }
        return status;
    }

    /// <summary>
    /// Looks each name up as a defined function: STT_FUNC, st_shndx not SHN_UNDEF, st_value not 0, inside the file-backed
    /// part of a PT_LOAD segment. `.dynsym` is searched first; `.symtab` only for names `.dynsym` does not define.
    /// </summary>
    /// <remarks>
    /// STT_GNU_IFUNC symbols are not returned: their value is the resolver that picks an implementation at load time,
    /// not the function a caller runs, so a probe there would fire once per process at most. When a table defines a
    /// name more than once (several versions, or a local and a global), a global binding wins over a weak one over a
    /// local one, and otherwise the first in the table. The result follows the order of <paramref name="names"/>,
    /// without the names not found.
    /// </remarks>
    public IReadOnlyList<ElfFunction> FindFunctions(ReadOnlySpan<string> names)
    {
        var found = new ElfFunction?[names.Length];
        try
        {
            foreach (var table in (ReadOnlySpan<SymbolTableRange?>)[_dynsym, _symtab])
            {
                if (table is { } t)
                {
                    SymbolScanner.Scan(_source, t, names, found, this);
                }
            }
        }
        catch (IOException)
        {
            // The file changed or vanished under us; what was found before is still right for the bytes read.
        }
        var list = new List<ElfFunction>(names.Length);
        foreach (var f in found)
        {
            if (f is { } fn)
            {
                list.Add(fn);
            }
        }
        return list;
    }

    /// <summary>Maps a virtual address to its file offset through the PT_LOAD segment whose file bytes hold it.</summary>
    public bool TryGetFileOffset(ulong address, out ulong offset)
    {
        foreach (var s in LoadSegments)
        {
            if (s.ContainsFileBacked(address))
            {
                offset = address - s.VirtualAddress + s.Offset;
                return true;
            }
        }
        offset = 0;
        return false;
    }

    /// <summary>Finds the first section called <paramref name="name"/> whose bytes lie inside the file (not SHT_NOBITS).</summary>
    public bool TryFindSection(string name, out ElfSection section)
    {
        section = default;
        if (_sectionNames >= _sections.Length)
        {
            return false;
        }
        var names = _sections[_sectionNames];
        if (!_source.Contains(names.Offset, names.Size))
        {
            return false;
        }
        // The name and its terminating NUL: a longer name in the table differs in that last byte.
        Span<byte> wanted = stackalloc byte[System.Text.Encoding.UTF8.GetByteCount(name) + 1];
        System.Text.Encoding.UTF8.GetBytes(name, wanted);
        wanted[^1] = 0;
        Span<byte> buffer = stackalloc byte[wanted.Length];
        try
        {
            foreach (var s in _sections)
            {
                if (s.Type == ShtNobits || s.Name >= names.Size || names.Size - s.Name < (ulong)wanted.Length || !_source.Contains(s.Offset, s.Size))
                {
                    continue;
                }
                if (_source.ReadExactly(buffer, (long)(names.Offset + s.Name)) && buffer.SequenceEqual(wanted))
                {
                    section = new ElfSection(s.Address, s.Offset, s.Size);
                    return true;
                }
            }
        }
        catch (IOException)
        {
        }
        return false;
    }

    /// <summary>Reads bytes at a file offset; false when the file ends first or cannot be read.</summary>
    public bool TryRead(Span<byte> buffer, ulong offset)
    {
        try
        {
            return offset <= long.MaxValue && _source.ReadExactly(buffer, (long)offset);
        }
        catch (IOException)
        {
            return false;
        }
    }

    public void Dispose() => _source.Dispose();

    private static ElfStatus Parse(ElfSource source, out ElfFile? file)
    {
        file = null;
        Span<byte> eh = stackalloc byte[EhdrSize];
        int got = source.ReadUpTo(eh, 0);
        var status = CheckIdent(eh[..got]);
        if (status != ElfStatus.Ok)
        {
            return status;
        }
        ushort type = U16(eh, 16);
        ulong phoff = U64(eh, 32);
        ulong shoff = U64(eh, 40);
        ushort phentsize = U16(eh, 54);
        uint phnum = U16(eh, 56);
        ushort shentsize = U16(eh, 58);
        uint shnum = U16(eh, 60);
        uint shstrndx = U16(eh, 62);

        // gABI "Extended section numbering": counts that do not fit 16 bits live in section header 0.
        if (shoff != 0 && (shnum == 0 || shstrndx == ShnXindex || phnum == PnXnum))
        {
            Span<byte> sh0 = stackalloc byte[ShdrSize];
            if (!source.Contains(shoff, ShdrSize))
            {
                return ElfStatus.Truncated;
            }
            if (!source.ReadExactly(sh0, (long)shoff))
            {
                return ElfStatus.Truncated;
            }
            var zero = SectionHeader.Read(sh0);
            shnum = shnum == 0 ? (zero.Size > MaxSections ? MaxSections + 1 : (uint)zero.Size) : shnum;
            phnum = phnum == PnXnum ? zero.Info : phnum;
            shstrndx = shstrndx == ShnXindex ? zero.Link : shstrndx;
        }
        if ((phnum > 0 && phentsize != PhdrSize) || (shnum > 0 && shentsize != ShdrSize) || shnum > MaxSections || phnum > MaxSections)
        {
            return ElfStatus.Malformed;
        }

        status = ReadTable(source, phoff, phnum, PhdrSize, out byte[] phdrs);
        if (status != ElfStatus.Ok)
        {
            return status;
        }
        status = ReadLoadSegments(source, phdrs, out var loads, out var noteSegments);
        if (status != ElfStatus.Ok)
        {
            return status;
        }

        status = ReadTable(source, shoff, shoff == 0 ? 0 : shnum, ShdrSize, out byte[] shdrs);
        if (status != ElfStatus.Ok)
        {
            return status;
        }
        var sections = new SectionHeader[shdrs.Length / ShdrSize];
        for (int i = 0; i < sections.Length; i++)
        {
            sections[i] = SectionHeader.Read(shdrs.AsSpan(i * ShdrSize, ShdrSize));
        }
        status = FindSymbolTable(source, sections, ShtDynsym, out var dynsym);
        if (status != ElfStatus.Ok)
        {
            return status;
        }
        status = FindSymbolTable(source, sections, ShtSymtab, out var symtab);
        if (status != ElfStatus.Ok)
        {
            return status;
        }
        string? buildId = ReadBuildId(source, sections, noteSegments);
        file = new ElfFile(source, type, loads, dynsym, symtab, buildId, sections, shstrndx);
        return ElfStatus.Ok;
    }

    /// <summary>e_ident: magic, class, data encoding; then e_machine. Checks only the bytes there are.</summary>
    private static ElfStatus CheckIdent(ReadOnlySpan<byte> eh)
    {
        ReadOnlySpan<byte> magic = [0x7f, (byte)'E', (byte)'L', (byte)'F'];
        int m = Math.Min(eh.Length, magic.Length);
        if (eh.Length == 0 || !eh[..m].SequenceEqual(magic[..m]))
        {
            return ElfStatus.NotElf;
        }
        if (eh.Length > 4 && eh[4] != ElfClass64)
        {
            return eh[4] == ElfClass32 ? ElfStatus.Unsupported : ElfStatus.Malformed;
        }
        if (eh.Length > 5 && eh[5] != ElfData2Lsb)
        {
            return eh[5] == ElfData2Msb ? ElfStatus.Unsupported : ElfStatus.Malformed;
        }
        if (eh.Length < EhdrSize)
        {
            return ElfStatus.Truncated;
        }
        return U16(eh, 18) == EmX86_64 ? ElfStatus.Ok : ElfStatus.Unsupported;
    }

    private static ElfStatus ReadTable(ElfSource source, ulong offset, uint count, int entrySize, out byte[] table)
    {
        table = [];
        if (count == 0)
        {
            return ElfStatus.Ok;
        }
        ulong bytes = (ulong)count * (ulong)entrySize;
        if (!source.Contains(offset, bytes))
        {
            return ElfStatus.Truncated;
        }
        table = new byte[bytes];
        return source.ReadExactly(table, (long)offset) ? ElfStatus.Ok : ElfStatus.Truncated;
    }

    private static ElfStatus ReadLoadSegments(ElfSource source, byte[] phdrs, out ElfSegment[] loads, out List<(ulong Offset, ulong Size, ulong Align)> notes)
    {
        var list = new List<ElfSegment>();
        notes = [];
        loads = [];
        for (int at = 0; at < phdrs.Length; at += PhdrSize)
        {
            var p = phdrs.AsSpan(at, PhdrSize);
            uint ptype = U32(p, 0);
            ulong offset = U64(p, 8);
            ulong filesz = U64(p, 32);
            if (ptype == PtNote)
            {
                notes.Add((offset, filesz, U64(p, 48)));
            }
            if (ptype != PtLoad)
            {
                continue;
            }
            ulong vaddr = U64(p, 16);
            ulong memsz = U64(p, 40);
            if (filesz > memsz || vaddr + memsz < vaddr)
            {
                return ElfStatus.Malformed;
            }
            if (!source.Contains(offset, filesz))
            {
                return ElfStatus.Truncated;
            }
            list.Add(new ElfSegment(offset, vaddr, filesz, memsz, U32(p, 4)));
        }
        loads = [.. list];
        return ElfStatus.Ok;
    }

    /// <summary>The first section of <paramref name="type"/> and its string table (sh_link), checked against the file.</summary>
    private static ElfStatus FindSymbolTable(ElfSource source, SectionHeader[] sections, uint type, out SymbolTableRange? table)
    {
        table = null;
        foreach (var s in sections)
        {
            if (s.Type != type)
            {
                continue;
            }
            if (s.EntrySize != SymbolScanner.SymSize || s.Size % SymbolScanner.SymSize != 0 || s.Link >= sections.Length)
            {
                return ElfStatus.Malformed;
            }
            var strings = sections[s.Link];
            if (strings.Type != ShtStrtab)
            {
                return ElfStatus.Malformed;
            }
            if (!source.Contains(s.Offset, s.Size) || !source.Contains(strings.Offset, strings.Size))
            {
                return ElfStatus.Truncated;
            }
            table = new SymbolTableRange(type == ShtDynsym ? ElfSymbolTable.DynSym : ElfSymbolTable.SymTab, s.Offset, s.Size, strings.Offset, strings.Size);
            return ElfStatus.Ok;
        }
        return ElfStatus.Ok;
    }

    /// <summary>NT_GNU_BUILD_ID from the SHT_NOTE sections, or the PT_NOTE segments when there are no sections.</summary>
    private static string? ReadBuildId(ElfSource source, SectionHeader[] sections, List<(ulong Offset, ulong Size, ulong Align)> noteSegments)
    {
        var places = sections.Length > 0
            ? sections.Where(s => s.Type == ShtNote).Select(s => (s.Offset, s.Size, Align: s.AddrAlign))
            : noteSegments;
        foreach (var (offset, size, align) in places)
        {
            if (size == 0 || size > MaxNoteBytes || !source.Contains(offset, size))
            {
                continue;
            }
            var bytes = new byte[size];
            if (source.ReadExactly(bytes, (long)offset) && ElfNotes.TryFindGnuBuildId(bytes, align == 8 ? 8 : 4, out var id))
            {
                return Convert.ToHexStringLower(id);
            }
        }
        return null;
    }

    internal static ushort U16(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b[at..]);

    internal static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);

    internal static ulong U64(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b[at..]);

    /// <summary>The Elf64_Shdr fields the reader uses.</summary>
    private readonly record struct SectionHeader(uint Name, uint Type, ulong Address, ulong Offset, ulong Size, uint Link, uint Info, ulong AddrAlign, ulong EntrySize)
    {
        internal static SectionHeader Read(ReadOnlySpan<byte> s) =>
            new(U32(s, 0), U32(s, 4), U64(s, 16), U64(s, 24), U64(s, 32), U32(s, 40), U32(s, 44), U64(s, 48), U64(s, 56));
    }
}

/// <summary>Where a symbol table and its string table lie in the file.</summary>
internal readonly record struct SymbolTableRange(ElfSymbolTable Table, ulong Offset, ulong Size, ulong StringsOffset, ulong StringsSize);
