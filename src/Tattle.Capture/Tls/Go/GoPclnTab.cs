using System.Buffers.Binary;
using Tattle.Capture.Elf;

namespace Tattle.Capture.Tls.Go;

/// <summary>
/// The function table of `.gopclntab`, which Go keeps in stripped binaries because its runtime needs it for stack
/// traces. Layouts follow Go's src/debug/gosym/pclntab.go and src/runtime/symtab.go for Go 1.16 to 1.2x.
/// </summary>
internal sealed class GoPclnTab
{
    internal const string SectionName = ".gopclntab";

    private const uint Magic116 = 0xFFFFFFFA;
    private const uint Magic118 = 0xFFFFFFF0;
    private const uint Magic120 = 0xFFFFFFF1;

    // The tables of the largest Go programs are tens of megabytes; past this the section is taken to be corrupt.
    private const ulong MaxBytes = 512UL << 20;

    private readonly byte[] _data;
    private readonly bool _relativeEntries;
    private readonly ulong _textStart;
    private readonly int _nfunc;
    private readonly int _funcnameOffset;
    private readonly int _functabOffset;

    private GoPclnTab(byte[] data, bool relativeEntries, ulong textStart, int nfunc, int funcnameOffset, int functabOffset)
    {
        _data = data;
        _relativeEntries = relativeEntries;
        _textStart = textStart;
        _nfunc = nfunc;
        _funcnameOffset = funcnameOffset;
        _functabOffset = functabOffset;
    }

    /// <summary>Reads and checks the table; null with <paramref name="reason"/> when absent, unsupported or inconsistent.</summary>
    internal static GoPclnTab? TryLoad(ElfFile elf, out string reason)
    {
        if (!elf.TryFindSection(SectionName, out var section))
        {
            reason = "no .gopclntab section";
            return null;
        }
        if (section.Size < 72 || section.Size > MaxBytes)
        {
            reason = $".gopclntab of {section.Size} bytes";
            return null;
        }
        var data = new byte[section.Size];
        if (!elf.TryRead(data, section.Offset))
        {
            reason = "cannot read .gopclntab";
            return null;
        }
        uint magic = U32(data, 0);
        if (magic is not (Magic116 or Magic118 or Magic120) || data[4] != 0 || data[5] != 0 || data[7] != 8)
        {
            reason = $".gopclntab magic 0x{magic:X8} with {data[7]}-byte pointers is not a supported Go 1.16+ amd64 table";
            return null;
        }
        bool relative = magic != Magic116;
        // Go 1.18+ adds textStart after nfiles; gosym prefers the .text address, which a PIE's header leaves unrelocated.
        int offsets = relative ? 32 : 24;
        ulong textStart = 0;
        if (relative)
        {
            textStart = elf.TryFindSection(".text", out var text) ? text.Address : U64(data, 24);
        }
        ulong nfunc = U64(data, 8);
        ulong funcname = U64(data, offsets);
        ulong pcln = U64(data, offsets + 32);
        ulong entrySize = relative ? 8UL : 16UL;
        ulong length = (ulong)data.Length;
        if (funcname >= length || pcln >= length || nfunc >= length / entrySize || pcln + (nfunc + 1) * entrySize > length)
        {
            reason = ".gopclntab header points outside the section";
            return null;
        }
        reason = "";
        return new GoPclnTab(data, relative, textStart, (int)nfunc, (int)funcname, (int)pcln);
    }

    /// <summary>Number of functions in the table.</summary>
    internal int Count => _nfunc;

    /// <summary>Finds a function by its full Go name: its entry address and size (up to the next function's entry).</summary>
    internal bool TryFind(string name, out ulong entry, out ulong size)
    {
        Span<byte> wanted = stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(name.Length)];
        wanted = wanted[..System.Text.Encoding.UTF8.GetBytes(name, wanted)];
        for (int i = 0; i < _nfunc; i++)
        {
            if (NameEquals(i, wanted))
            {
                entry = Entry(i);
                ulong next = Entry(i + 1);
                size = next > entry ? next - entry : 0;
                return true;
            }
        }
        entry = 0;
        size = 0;
        return false;
    }

    /// <summary>The (name, entry) pairs in table order; tests compare them with the symbol table.</summary>
    internal IEnumerable<(string Name, ulong Entry)> Functions()
    {
        for (int i = 0; i < _nfunc; i++)
        {
            if (TryName(i, out var name))
            {
                yield return (System.Text.Encoding.UTF8.GetString(name), Entry(i));
            }
        }
    }

    private ulong Entry(int i) => _relativeEntries
        ? _textStart + U32(_data, _functabOffset + (i * 8))
        : U64(_data, _functabOffset + (i * 16));

    private bool NameEquals(int i, ReadOnlySpan<byte> wanted) => TryName(i, out var name) && name.SequenceEqual(wanted);

    /// <summary>The _func record's nameOff (just after its entry) into funcnametab, bounds-checked at every step.</summary>
    private bool TryName(int i, out ReadOnlySpan<byte> name)
    {
        name = default;
        ulong funcOff = _relativeEntries ? U32(_data, _functabOffset + (i * 8) + 4) : U64(_data, _functabOffset + (i * 16) + 8);
        ulong record = (ulong)_functabOffset + funcOff;
        int entryField = _relativeEntries ? 4 : 8;
        if (record + (ulong)entryField + 4 > (ulong)_data.Length)
        {
            return false;
        }
        int nameOff = (int)U32(_data, (int)record + entryField);
        ulong start = (ulong)_funcnameOffset + (ulong)(uint)nameOff;
        if (nameOff < 0 || start >= (ulong)_data.Length)
        {
            return false;
        }
        var rest = _data.AsSpan((int)start);
        int end = rest.IndexOf((byte)0);
        if (end < 0)
        {
            return false;
        }
        name = rest[..end];
        return true;
    }

    private static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));

    private static ulong U64(byte[] b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(at));
}
