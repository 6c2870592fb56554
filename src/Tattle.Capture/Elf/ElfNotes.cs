namespace Tattle.Capture.Elf;

/// <summary>Walks ELF notes (gABI "Note Section": Elf64_Nhdr namesz, descsz, type; then name and desc, each padded).</summary>
internal static class ElfNotes
{
    private const uint NtGnuBuildId = 3;

    /// <summary>Finds the "GNU" note of type NT_GNU_BUILD_ID; false when there is none or the notes are cut short.</summary>
    /// <param name="notes">The bytes of one note section or PT_NOTE segment.</param>
    /// <param name="align">4, or 8 for sections aligned to 8 (e.g. .note.gnu.property), as readelf pads them.</param>
    /// <param name="buildId">The descriptor bytes (usually 20, a SHA-1).</param>
    internal static bool TryFindGnuBuildId(ReadOnlySpan<byte> notes, int align, out ReadOnlySpan<byte> buildId)
    {
        ReadOnlySpan<byte> gnu = "GNU\0"u8;
        buildId = default;
        int at = 0;
        while (notes.Length - at >= 12)
        {
            uint namesz = ElfFile.U32(notes, at);
            uint descsz = ElfFile.U32(notes, at + 4);
            uint type = ElfFile.U32(notes, at + 8);
            long nameAt = at + 12L;
            long descAt = AlignUp(nameAt + namesz, align);
            long next = AlignUp(descAt + descsz, align);
            if (descAt + descsz > notes.Length)
            {
                return false;
            }
            if (type == NtGnuBuildId && descsz > 0 && notes.Slice((int)nameAt, (int)namesz).SequenceEqual(gnu))
            {
                buildId = notes.Slice((int)descAt, (int)descsz);
                return true;
            }
            at = (int)Math.Min(next, notes.Length);
        }
        return false;
    }

    private static long AlignUp(long value, int align) => (value + align - 1) & ~(long)(align - 1);
}
