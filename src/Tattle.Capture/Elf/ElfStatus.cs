namespace Tattle.Capture.Elf;

/// <summary>The outcome of opening an ELF file; the reader reports bad bytes with a status, never an exception.</summary>
public enum ElfStatus
{
    /// <summary>The headers were read and are consistent.</summary>
    Ok,

    /// <summary>The file does not start with the ELF magic (or is empty).</summary>
    NotElf,

    /// <summary>An ELF file of another kind: 32-bit, big-endian, or a machine other than x86_64.</summary>
    Unsupported,

    /// <summary>A header or table the headers point at lies (partly) past the end of the file.</summary>
    Truncated,

    /// <summary>Inconsistent headers: wrong entry sizes, links to sections that do not exist, overflowing ranges.</summary>
    Malformed,

    /// <summary>The file could not be opened or read.</summary>
    IoError,
}

/// <summary>The words a status is reported in, after a file's path.</summary>
public static class ElfStatusText
{
    public static string Describe(this ElfStatus status) => status switch
    {
        ElfStatus.NotElf => "not an ELF file",
        ElfStatus.Unsupported => "an ELF file of another kind (only 64-bit little-endian x86_64 is read)",
        ElfStatus.Truncated => "a truncated ELF file (its headers point past its end)",
        ElfStatus.Malformed => "a malformed ELF file (inconsistent headers)",
        ElfStatus.IoError => "cannot be opened or read",
        _ => "read",
    };
}

/// <summary>Which symbol table a symbol came from.</summary>
public enum ElfSymbolTable
{
    /// <summary>`.dynsym`: the exported symbols, present even in stripped objects.</summary>
    DynSym,

    /// <summary>`.symtab`: the full link-time table, removed by `strip`.</summary>
    SymTab,
}

/// <summary>A defined function symbol and where its first instruction lies in the file.</summary>
/// <param name="Name">The plain name (no `@VERSION` suffix; .dynstr holds names without it).</param>
/// <param name="Address">st_value: the virtual address in the object's own address space.</param>
/// <param name="Size">st_size (0 when the toolchain did not record one).</param>
/// <param name="FileOffset">st_value − p_vaddr + p_offset of the PT_LOAD segment holding it: what a uprobe is attached at.</param>
/// <param name="Table">The table it was found in.</param>
public readonly record struct ElfFunction(string Name, ulong Address, ulong Size, ulong FileOffset, ElfSymbolTable Table);

/// <summary>A PT_LOAD program header: file bytes [Offset, Offset+FileSize) are mapped at [VirtualAddress, …).</summary>
public readonly record struct ElfSegment(ulong Offset, ulong VirtualAddress, ulong FileSize, ulong MemorySize, uint Flags)
{
    /// <summary>PF_X: the segment is mapped executable.</summary>
    public bool Executable => (Flags & 1) != 0;

    /// <summary>True when <paramref name="address"/> lies in the part of the segment backed by file bytes.</summary>
    public bool ContainsFileBacked(ulong address) => address >= VirtualAddress && address - VirtualAddress < FileSize;
}

/// <summary>A section header's placement: its address when loaded and where its bytes lie in the file.</summary>
public readonly record struct ElfSection(ulong Address, ulong Offset, ulong Size);
