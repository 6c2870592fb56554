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
        buildId = default;
        int at = 0;
        while (TryNext(notes, align, ref at, out var note) == NoteStep.Note)
        {
            if (note.Is(notes, "GNU\0"u8, NtGnuBuildId) && note.DescSize > 0)
            {
                buildId = note.Desc(notes);
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Reads the note header at <paramref name="at"/> and moves <paramref name="at"/> past the note. <see cref="NoteStep.End"/>
    /// when fewer than a header's bytes are left; <see cref="NoteStep.Truncated"/> when the name or desc runs past the end.
    /// </summary>
    internal static NoteStep TryNext(ReadOnlySpan<byte> notes, int align, ref int at, out Note note)
    {
        note = default;
        if (at < 0 || notes.Length - at < 12)
        {
            return NoteStep.End;
        }
        uint namesz = ElfFile.U32(notes, at);
        uint descsz = ElfFile.U32(notes, at + 4);
        uint type = ElfFile.U32(notes, at + 8);
        // The sizes are 32-bit, so these longs cannot overflow; a section this walks is far smaller than 2 GiB.
        long nameAt = at + 12L;
        long descAt = AlignUp(nameAt + namesz, align);
        long next = AlignUp(descAt + descsz, align);
        if (descAt + descsz > notes.Length)
        {
            return NoteStep.Truncated;
        }
        note = new Note((int)nameAt, (int)namesz, (int)descAt, (int)descsz, type);
        at = (int)Math.Min(next, notes.Length);
        return NoteStep.Note;
    }

    private static long AlignUp(long value, int align) => (value + align - 1) & ~(long)(align - 1);

    /// <summary>What <see cref="TryNext"/> found.</summary>
    internal enum NoteStep
    {
        Note,
        End,
        Truncated,
    }

    /// <summary>One note: where its name and descriptor lie in the bytes walked.</summary>
    internal readonly record struct Note(int NameAt, int NameSize, int DescAt, int DescSize, uint Type)
    {
        /// <summary>True for the owner <paramref name="name"/> (with its NUL) and <paramref name="type"/>.</summary>
        internal bool Is(ReadOnlySpan<byte> notes, ReadOnlySpan<byte> name, uint type) =>
            Type == type && notes.Slice(NameAt, NameSize).SequenceEqual(name);

        internal ReadOnlySpan<byte> Desc(ReadOnlySpan<byte> notes) => notes.Slice(DescAt, DescSize);
    }
}
