using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using Tattle.Capture.Elf;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Elf;

/// <summary>USDT probes read from `.note.stapsdt`, checked against `readelf -n` and the `readelf -lW` LOAD rows.</summary>
public class UsdtProbesTests(ITestOutputHelper output)
{
    private const string Python = "/usr/bin/python3.11";
    private const string Libstdcxx = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
    private const string Node = "/usr/bin/node";

    [SkippableTheory]
    [InlineData(Python, "python3.11-minimal", 8)]
    [InlineData(Libstdcxx, "libstdc++6", 3)]
    public void RealObjects_ProbesAreReadelfs_AtTheirFileOffsets(string path, string package, int atLeast)
    {
        Requires.FileFrom(output, path, package);
        Requires.Program(output, "readelf");
        var probes = AssertMatchesReadelf(path, []);
        Assert.True(probes.Count >= atLeast, $"{path}: {probes.Count} probes");
        Assert.All(probes, p => Assert.Null(p.Problem));
    }

    [SkippableFact]
    public void Python_HasItsSemaphores_AndTheArgumentsItShips()
    {
        Requires.FileFrom(output, Python, "python3.11-minimal");
        var probes = UsdtProbes.Read(Python, out var status);
        Assert.Equal(ElfStatus.Ok, status);
        Assert.All(probes, p => Assert.NotEqual(0UL, p.SemaphoreFileOffset));
        var entry = Assert.Single(probes, p => p is { Provider: "python", Name: "function__entry" });
        // 8@%rbp 8@%r12 -4@%eax: filename, function name, line number.
        Assert.Equal(
            [new UsdtArgument(UsdtArgumentKind.Register, 8, false, 32, 0), new(UsdtArgumentKind.Register, 8, false, 24, 0), new(UsdtArgumentKind.Register, 4, true, 80, 0)],
            entry.Arguments);
    }

    [SkippableFact]
    public void Node_HasAsManyProbesAsReadelfLists()
    {
        // Debian's node is built without --with-dtrace: readelf lists no stapsdt notes, and neither does the reader.
        Requires.FileFrom(output, Node, "nodejs");
        Requires.Program(output, "readelf");
        AssertMatchesReadelf(Node, []);
    }

    [SkippableFact]
    public void ObjectWithoutNotes_HasNoProbes()
    {
        Requires.Program(output, "cc");
        Assert.Empty(UsdtProbes.Read(TestBinary.Unstripped, out var status));
        Assert.Equal(ElfStatus.Ok, status);
        Assert.Empty(UsdtProbes.Read("/nonexistent/tattle", out status));
        Assert.Equal(ElfStatus.IoError, status);
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void SdtProgram_ProbesAreReadelfs_WithTheSemaphoreInProbesSection(bool pie)
    {
        RequireSdt();
        string path = pie ? SdtProgram.Pie : SdtProgram.Fixed;
        var probes = AssertMatchesReadelf(path, ["mixed"]);
        Assert.Equal(["none", "constant", "regs", "mem", "mixed", "hit"], probes.Select(p => p.Name));
        Assert.All(probes, p => Assert.Equal("tattle_demo", p.Provider));
        var hit = probes.Single(p => p.Name == "hit");
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(path, out var file));
        using (file)
        {
            Assert.True(file!.TryFindSection(".probes", out var section));
            Assert.Equal(section.Offset, hit.SemaphoreFileOffset);
            Assert.Equal(section.Address, hit.SemaphoreAddress);
        }
        Assert.All(probes.Where(p => p.Name != "hit"), p => Assert.Equal(0UL, p.SemaphoreFileOffset));
    }

    [SkippableFact]
    public void SdtProgram_ArgumentsHaveTheirShapes()
    {
        RequireSdt();
        var probes = UsdtProbes.Read(SdtProgram.Pie, out var status).ToDictionary(p => p.Name);
        Assert.Equal(ElfStatus.Ok, status);
        Assert.Equal("", probes["none"].ArgumentText);
        Assert.Empty(probes["none"].Arguments);
        Assert.Null(probes["none"].Problem);
        Assert.Equal([new UsdtArgument(UsdtArgumentKind.Constant, 4, true, -1, 5)], probes["constant"].Arguments);
        // int argc, long argv: in registers at the start of main.
        Assert.Equal([(UsdtArgumentKind.Register, 4, true), (UsdtArgumentKind.Register, 8, true)], probes["regs"].Arguments.Select(a => (a.Kind, a.Size, a.Signed)));
        // int, long, char, short read through a pointer the compiler keeps on the stack.
        Assert.Equal([(4, true), (8, true), (1, true), (2, true)], probes["mem"].Arguments.Select(a => (a.Size, a.Signed)));
        Assert.All(probes["mem"].Arguments, a => Assert.Equal(UsdtArgumentKind.Memory, a.Kind));
        // -O0: both arguments are stack slots below the frame pointer.
        Assert.All(probes["hit"].Arguments, a => Assert.Equal((UsdtArgumentKind.Memory, "rbp", true), (a.Kind, UsdtArgument.RegisterName(a.RegOffset), a.Value < 0)));
        Assert.Equal([4, 8], probes["hit"].Arguments.Select(a => a.Size));
        // A global is addressed through its symbol (tattle_global(%rip)): listed, not attachable with arguments.
        var mixed = probes["mixed"];
        Assert.EndsWith("tattle_global(%rip)", mixed.ArgumentText, StringComparison.Ordinal);
        Assert.Empty(mixed.Arguments);
        Assert.StartsWith("argument 3 (", mixed.Problem, StringComparison.Ordinal);
        Assert.NotEqual(0UL, mixed.FileOffset);
    }

    [SkippableFact]
    public void NoteBaseDifferentFromStapsdtBase_MovesPcAndSemaphoreByTheDifference()
    {
        RequireSdt();
        byte[] bytes = File.ReadAllBytes(SdtProgram.Pie);
        var before = ReadProbes(bytes, out var status);
        Assert.Equal(ElfStatus.Ok, status);
        // As if prelink had moved the object 16 bytes down after the notes were written: each note still records the old base.
        foreach (int descAt in StapsdtDescriptors(bytes))
        {
            var field = bytes.AsSpan(descAt + 8, 8);
            BinaryPrimitives.WriteUInt64LittleEndian(field, BinaryPrimitives.ReadUInt64LittleEndian(field) + 16);
        }
        var after = ReadProbes(bytes, out status);
        Assert.Equal(ElfStatus.Ok, status);
        Assert.Equal(before.Count, after.Count);
        foreach (var (b, a) in before.Zip(after))
        {
            Assert.Equal((b.Address - 16, b.FileOffset - 16), (a.Address, a.FileOffset));
            Assert.Equal(b.SemaphoreAddress == 0 ? (0UL, 0UL) : (b.SemaphoreAddress - 16, b.SemaphoreFileOffset - 16), (a.SemaphoreAddress, a.SemaphoreFileOffset));
        }
    }

    [SkippableFact]
    public void CutShortNote_IsMalformed_AfterTheProbesBeforeIt()
    {
        RequireSdt();
        byte[] bytes = File.ReadAllBytes(SdtProgram.Pie);
        var descriptors = StapsdtDescriptors(bytes);
        // descsz of the last note, 8 bytes before its name "stapsdt\0" (and 20 before its descriptor).
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(descriptors[^1] - 20 + 4), 0xffff);
        var probes = ReadProbes(bytes, out var status);
        Assert.Equal(ElfStatus.Malformed, status);
        Assert.Equal(descriptors.Count - 1, probes.Count);
    }

    [SkippableFact]
    public void UnterminatedStrings_AreMalformed()
    {
        RequireSdt();
        byte[] bytes = File.ReadAllBytes(SdtProgram.Pie);
        var descriptors = StapsdtDescriptors(bytes);
        int first = descriptors[0];
        int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(first - 20 + 4));
        bytes.AsSpan(first + 24, size - 24).Fill((byte)'x');
        Assert.Empty(ReadProbes(bytes, out var status));
        Assert.Equal(ElfStatus.Malformed, status);
    }

    [SkippableFact]
    public void MutatedNotes_NeverThrow()
    {
        RequireSdt();
        byte[] whole = File.ReadAllBytes(SdtProgram.Pie);
        var (offset, size) = NoteSection(whole);
        Prop.ForAll<int[], byte[]>((positions, values) =>
        {
            byte[] m = (byte[])whole.Clone();
            positions ??= [];
            values ??= [];
            for (int i = 0; i < Math.Min(positions.Length, values.Length); i++)
            {
                m[offset + (int)((uint)positions[i] % (uint)size)] = values[i];
            }
            _ = ReadProbes(m, out _);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    [SkippableFact]
    public void RandomNoteBytes_NeverThrow()
    {
        RequireSdt();
        byte[] whole = File.ReadAllBytes(SdtProgram.Pie);
        var (offset, size) = NoteSection(whole);
        Prop.ForAll<byte[], uint, uint>((random, namesz, descsz) =>
        {
            byte[] m = (byte[])whole.Clone();
            var notes = m.AsSpan(offset, size);
            notes.Clear();
            // A well-formed header for a stapsdt note, then random sizes and bytes: the descriptor parser is reached.
            BinaryPrimitives.WriteUInt32LittleEndian(notes, 8);
            BinaryPrimitives.WriteUInt32LittleEndian(notes[4..], descsz % 128);
            BinaryPrimitives.WriteUInt32LittleEndian(notes[8..], 3);
            "stapsdt\0"u8.CopyTo(notes[12..]);
            random ??= [];
            random.AsSpan(0, Math.Min(random.Length, size - 20)).CopyTo(notes[20..]);
            _ = ReadProbes(m, out _);
            BinaryPrimitives.WriteUInt32LittleEndian(notes, namesz);
            BinaryPrimitives.WriteUInt32LittleEndian(notes[4..], descsz);
            _ = ReadProbes(m, out _);
        }).QuickCheckThrowOnFailure();
    }

    /// <summary>
    /// Asserts the reader's probes are readelf's, in order, with pc and semaphore moved by `.stapsdt.base` − note base
    /// and turned into file offsets through the LOAD rows; <paramref name="withProblem"/> names those whose arguments do not parse.
    /// </summary>
    private static IReadOnlyList<UsdtProbe> AssertMatchesReadelf(string path, string[] withProblem)
    {
        var expected = StapsdtOracle.Probes(path);
        var probes = UsdtProbes.Read(path, out var status);
        Assert.Equal(ElfStatus.Ok, status);
        Assert.Equal(expected.Select(e => $"{e.Provider}:{e.Name} [{e.Arguments}]"), probes.Select(p => $"{p.Provider}:{p.Name} [{p.ArgumentText}]"));
        if (expected.Count == 0)
        {
            return probes;
        }
        var loads = ReadElfOracle.Of(path);
        ulong? stapsdtBase = StapsdtOracle.BaseAddress(path);
        foreach (var (e, p) in expected.Zip(probes))
        {
            ulong delta = stapsdtBase is { } b && e.Base != 0 ? b - e.Base : 0;
            Assert.Equal(e.Location + delta, p.Address);
            Assert.Equal(loads.FileOffset(e.Location + delta), p.FileOffset);
            Assert.Equal(e.Semaphore == 0 ? 0 : e.Semaphore + delta, p.SemaphoreAddress);
            Assert.Equal(e.Semaphore == 0 ? 0 : loads.FileOffset(e.Semaphore + delta), p.SemaphoreFileOffset);
            if (withProblem.Contains(p.Name))
            {
                Assert.NotNull(p.Problem);
            }
            else
            {
                Assert.Null(p.Problem);
                Assert.Equal(UsdtArgument.SplitSpecs(e.Arguments).Length, p.Arguments.Count);
            }
        }
        return probes;
    }

    private void RequireSdt()
    {
        Requires.Program(output, "cc");
        Requires.Program(output, "readelf");
        Requires.FileFrom(output, SdtProgram.Header, "systemtap-sdt-dev");
    }

    private static IReadOnlyList<UsdtProbe> ReadProbes(byte[] bytes, out ElfStatus status)
    {
        status = ElfFile.Open(bytes.AsMemory(), out var file);
        if (status != ElfStatus.Ok)
        {
            return [];
        }
        using (file)
        {
            return UsdtProbes.Read(file!, out status);
        }
    }

    private static (int Offset, int Size) NoteSection(byte[] bytes)
    {
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(bytes.AsMemory(), out var file));
        using (file)
        {
            Assert.True(file!.TryFindSection(".note.stapsdt", out var s));
            return ((int)s.Offset, (int)s.Size);
        }
    }

    /// <summary>The file offsets of the descriptors of the stapsdt notes, walked as the reader walks them.</summary>
    private static List<int> StapsdtDescriptors(byte[] bytes)
    {
        var (offset, size) = NoteSection(bytes);
        var notes = bytes.AsSpan(offset, size);
        var found = new List<int>();
        int at = 0;
        while (ElfNotes.TryNext(notes, 4, ref at, out var note) == ElfNotes.NoteStep.Note)
        {
            if (note.Is(notes, "stapsdt\0"u8, 3))
            {
                found.Add(offset + note.DescAt);
            }
        }
        Assert.NotEmpty(found);
        return found;
    }
}
