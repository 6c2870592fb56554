using System.Text;

namespace Tattle.Capture.Elf;

/// <summary>
/// One SystemTap SDT (USDT) probe of an object, placed for a uprobe: file offsets, not addresses, as
/// perf_event_open's uprobe and its ref_ctr_offset take them.
/// </summary>
/// <param name="Provider">The provider (`python`).</param>
/// <param name="Name">The probe name (`function__entry`).</param>
/// <param name="Address">The probe's address in the object's own address space, after the `.stapsdt.base` adjustment.</param>
/// <param name="FileOffset">Where the probe's nop lies in the file: what the uprobe is attached at (0 with a <paramref name="Problem"/>).</param>
/// <param name="SemaphoreAddress">The semaphore's address after the adjustment; 0 when the probe has none.</param>
/// <param name="SemaphoreFileOffset">The semaphore's file offset (the uprobe's ref_ctr_offset); 0 when there is none.</param>
/// <param name="Arguments">The parsed arguments; empty when the probe has none or one did not parse (see <paramref name="Problem"/>).</param>
/// <param name="ArgumentText">The arguments as written in the note (`8@%rbx -4@112(%rsp)`).</param>
/// <param name="Problem">Null when the probe can be attached with its arguments read; otherwise why not, fit to print.</param>
public sealed record UsdtProbe(
    string Provider,
    string Name,
    ulong Address,
    ulong FileOffset,
    ulong SemaphoreAddress,
    ulong SemaphoreFileOffset,
    IReadOnlyList<UsdtArgument> Arguments,
    string ArgumentText,
    string? Problem);

/// <summary>Reads the SystemTap SDT probes of an ELF object from its `.note.stapsdt` notes.</summary>
/// <remarks>
/// Format: https://sourceware.org/systemtap/wiki/UserSpaceProbeImplementation. Each note (owner "stapsdt", type 3)
/// holds three addresses — the probe's pc, the link-time address of `.stapsdt.base`, the semaphore (0 for none) —
/// then provider, name and arguments as NUL-terminated strings. When prelink or a relocation moved the object,
/// `.stapsdt.base`'s address differs from the note's base, and pc and semaphore move by the difference.
/// </remarks>
public static class UsdtProbes
{
    private const uint NtStapsdt = 3;

    // Three Elf64_Addr, then three strings of at least their NUL.
    private const int MinDescSize = 3 * 8 + 3;

    // python3.11's notes take 656 bytes; a program with thousands of probes stays far below this.
    private const ulong MaxNotesBytes = 16 * 1024 * 1024;

    /// <summary>
    /// Every probe of the object at <paramref name="path"/>, in note order. <paramref name="status"/> is why the
    /// file could not be opened (with an empty list), or Malformed when a note is cut short (with the probes before it).
    /// </summary>
    public static IReadOnlyList<UsdtProbe> Read(string path, out ElfStatus status)
    {
        status = ElfFile.Open(path, out var file);
        if (status != ElfStatus.Ok || file is null)
        {
            return [];
        }
        using (file)
        {
            return Read(file, out status);
        }
    }

    /// <summary>The probes of an open object; see <see cref="Read(string, out ElfStatus)"/>.</summary>
    public static IReadOnlyList<UsdtProbe> Read(ElfFile file, out ElfStatus status)
    {
        ArgumentNullException.ThrowIfNull(file);
        status = ElfStatus.Ok;
        if (!file.TryFindSection(".note.stapsdt", out var section) || section.Size == 0)
        {
            return [];
        }
        if (section.Size > MaxNotesBytes)
        {
            status = ElfStatus.Malformed;
            return [];
        }
        var notes = new byte[section.Size];
        if (!file.TryRead(notes, section.Offset))
        {
            status = ElfStatus.Truncated;
            return [];
        }
        ulong? baseAddress = file.TryFindSection(".stapsdt.base", out var b) ? b.Address : null;
        var probes = new List<UsdtProbe>();
        int at = 0;
        ElfNotes.NoteStep step;
        while ((step = ElfNotes.TryNext(notes, 4, ref at, out var note)) == ElfNotes.NoteStep.Note)
        {
            if (!note.Is(notes, "stapsdt\0"u8, NtStapsdt))
            {
                continue;
            }
            if (Parse(file, note.Desc(notes), baseAddress) is not { } probe)
            {
                status = ElfStatus.Malformed;
                return probes;
            }
            probes.Add(probe);
        }
        if (step == ElfNotes.NoteStep.Truncated)
        {
            status = ElfStatus.Malformed;
        }
        return probes;
    }

    /// <summary>One note's descriptor; null when it is too short or its strings are not terminated.</summary>
    private static UsdtProbe? Parse(ElfFile file, ReadOnlySpan<byte> desc, ulong? baseAddress)
    {
        if (desc.Length < MinDescSize)
        {
            return null;
        }
        ulong pc = ElfFile.U64(desc, 0);
        ulong noteBase = ElfFile.U64(desc, 8);
        ulong semaphore = ElfFile.U64(desc, 16);
        var strings = desc[24..];
        if (!TryTakeString(ref strings, out string provider) || !TryTakeString(ref strings, out string name) || !TryTakeString(ref strings, out string args))
        {
            return null;
        }
        // SystemTap's rule: a .stapsdt.base at another address than the note recorded means the object was moved
        // after the note was written (prelink); pc and semaphore move with it. Wrapping arithmetic is the intent.
        if (baseAddress is { } actual && noteBase != 0 && actual != noteBase)
        {
            pc = unchecked(pc + actual - noteBase);
            semaphore = semaphore == 0 ? 0 : unchecked(semaphore + actual - noteBase);
        }
        string? problem = null;
        if (!TryCodeOffset(file, pc, out ulong offset))
        {
            problem = $"its address 0x{pc:x} is not in an executable segment of the file";
        }
        ulong semaphoreOffset = 0;
        if (semaphore != 0 && !file.TryGetFileOffset(semaphore, out semaphoreOffset))
        {
            problem ??= $"its semaphore 0x{semaphore:x} is not in a segment backed by the file";
        }
        var argStatus = UsdtArgument.ParseAll(args, out var arguments, out int failedAt);
        if (argStatus != UsdtArgumentStatus.Ok)
        {
            string spec = UsdtArgument.SplitSpecs(args)[failedAt];
            problem ??= $"argument {failedAt + 1} ({spec}): {UsdtArgument.Describe(argStatus)}";
        }
        return new UsdtProbe(provider, name, pc, offset, semaphore, semaphoreOffset, arguments, args, problem);
    }

    /// <summary>The file offset of a code address: inside the file bytes of an executable PT_LOAD segment.</summary>
    private static bool TryCodeOffset(ElfFile file, ulong address, out ulong offset)
    {
        foreach (var s in file.LoadSegments)
        {
            if (s.Executable && s.ContainsFileBacked(address))
            {
                offset = address - s.VirtualAddress + s.Offset;
                return true;
            }
        }
        offset = 0;
        return false;
    }

    /// <summary>Takes a NUL-terminated string off the front; invalid UTF-8 becomes U+FFFD rather than an error.</summary>
    private static bool TryTakeString(ref ReadOnlySpan<byte> bytes, out string text)
    {
        int nul = bytes.IndexOf((byte)0);
        if (nul < 0)
        {
            text = "";
            return false;
        }
        text = Encoding.UTF8.GetString(bytes[..nul]);
        bytes = bytes[(nul + 1)..];
        return true;
    }
}
