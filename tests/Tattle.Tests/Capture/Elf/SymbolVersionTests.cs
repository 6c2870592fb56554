using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using Tattle.Capture.Elf;
using Tattle.Capture.Libs;
using Tattle.Tests.Capture.Libs;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Elf;

/// <summary>Symbol versions read from a shared object built here with a version script and `.symver`.</summary>
public class SymbolVersionTests(ITestOutputHelper output)
{
    private const string Source = """
        #include <unistd.h>
        int tattle_fn_v1(int x) { return x; }
        int tattle_fn_v2(int x) { return x * 2; }
        __asm__(".symver tattle_fn_v1, tattle_fn@TATTLE_1.0");
        __asm__(".symver tattle_fn_v2, tattle_fn@@TATTLE_2.0");
        int tattle_other(void) { return (int)getpid(); }
        """;

    private const string Script = """
        TATTLE_1.0 { global: tattle_fn; tattle_other; local: *; };
        TATTLE_2.0 { global: tattle_fn; } TATTLE_1.0;
        """;

    private static readonly Lazy<string> Built = new(Build);

    [SkippableFact]
    public void TwoVersionsOfOneSymbol_AreNamedAsNmNamesThem()
    {
        Requires.Program(output, "cc");
        Requires.Program(output, "nm");
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(Built.Value, out var file));
        using (file)
        {
            Assert.Equal(ElfStatus.Ok, file!.ReadDynamicSymbols(out var symbols));
            var names = symbols.Where(s => s.IsFunction).Select(s => s.VersionedName).ToList();
            Assert.Contains("tattle_fn@TATTLE_1.0", names);
            Assert.Contains("tattle_fn@@TATTLE_2.0", names);
            Assert.Contains("tattle_other@@TATTLE_1.0", names);
            Assert.Contains("getpid@GLIBC_2.2.5", names);
            Assert.True(symbols.Single(s => s.VersionedName == "tattle_fn@TATTLE_1.0").Hidden);
            // Every row nm prints for the object's functions, spelled the same, at the same address.
            var functions = DynamicSymbolOracle.ReadElf(Built.Value).Where(r => r.Type == "FUNC").Select(r => r.Symbol).ToHashSet();
            var nm = DynamicSymbolOracle.Nm(Built.Value).Where(r => functions.Contains(r.Symbol)).Select(r => $"{r.Symbol} {r.Value:x}").Order(StringComparer.Ordinal);
            Assert.Equal(nm, symbols.Where(s => s.IsFunction).Select(s => $"{s.VersionedName} {(s.Defined ? s.Address : 0):x}").Order(StringComparer.Ordinal));
        }
    }

    [SkippableFact]
    public void Definitions_Needs_AndSoname()
    {
        Requires.Program(output, "cc");
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(Built.Value, out var file));
        using (file)
        {
            Assert.Equal(ElfStatus.Ok, file!.ReadVersions(out var versions));
            Assert.Equal("libtattlever.so.1", versions.Soname);
            Assert.Equal(["libtattlever.so.1", "TATTLE_1.0", "TATTLE_2.0"], versions.Definitions.Select(d => d.Name));
            Assert.True(versions.Definitions[0].IsBase);
            Assert.Equal([1, 2, 3], versions.Definitions.Select(d => d.Index));
            var libc = Assert.Single(versions.Needs);
            Assert.Equal("libc.so.6", libc.File);
            Assert.Contains(libc.Versions, v => v.Name == "GLIBC_2.2.5" && v.Index > 3);
            Assert.Equal("TATTLE_2.0", LibraryListing.HighestDefinition(versions.Definitions));
            Assert.Equal("1", LibraryListing.SonameVersion(versions.Soname));
        }
    }

    [SkippableFact]
    public void VersionSectionPastTheEnd_IsTruncated_NotAThrow()
    {
        Requires.Program(output, "cc");
        byte[] bytes = File.ReadAllBytes(Built.Value);
        // sh_size of .gnu.version_d (SHT_GNU_verdef) made larger than the file.
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40));
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(60));
        int changed = 0;
        for (int i = 0; i < shnum; i++)
        {
            var sh = bytes.AsSpan((int)shoff + (i * 64), 64);
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) == 0x6ffffffd)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(sh[32..], (ulong)bytes.Length);
                changed++;
            }
        }
        Assert.Equal(1, changed);
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(bytes, out var file));
        using (file)
        {
            Assert.Equal(ElfStatus.Truncated, file!.ReadVersions(out _));
            Assert.Equal(ElfStatus.Truncated, file.ReadDynamicSymbols(out var symbols));
            Assert.Empty(symbols);
        }
    }

    [SkippableFact]
    public void MutatedSharedObject_NeverThrows()
    {
        Requires.Program(output, "cc");
        byte[] whole = File.ReadAllBytes(Built.Value);
        Prop.ForAll<int[], byte[]>((positions, values) =>
        {
            byte[] m = (byte[])whole.Clone();
            positions ??= [];
            values ??= [];
            for (int i = 0; i < Math.Min(positions.Length, values.Length); i++)
            {
                // Anywhere in the file: the version sections and .dynsym sit in its first pages, their headers at its end.
                m[(int)((uint)positions[i] % (uint)m.Length)] = values[i];
            }
            if (ElfFile.Open(m, out var file) == ElfStatus.Ok)
            {
                using (file)
                {
                    _ = file!.ReadVersions(out _);
                    _ = file.ReadDynamicSymbols(out var symbols);
                    _ = symbols.Select(s => s.VersionedName).ToList();
                }
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    [Fact]
    public void RandomVersionTables_NeverThrow()
    {
        Prop.ForAll<byte[], byte[]>((table, strings) =>
        {
            _ = ElfFile.ParseVerdef(table ?? [], strings ?? []);
            _ = ElfFile.ParseVerneed(table ?? [], strings ?? []);
            _ = ElfFile.CString(strings ?? [], (ulong)(table?.Length ?? 0));
        }).QuickCheckThrowOnFailure();
    }

    private static string Build()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"tattle-symver-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string c = Path.Combine(dir, "v.c");
        string map = Path.Combine(dir, "v.map");
        string so = Path.Combine(dir, "libtattlever.so.1");
        File.WriteAllText(c, Source);
        File.WriteAllText(map, Script);
        DynamicSymbolOracle.Output("cc", "-shared", "-fPIC", "-O1", "-Wl,--build-id", $"-Wl,--version-script={map}", "-Wl,-soname,libtattlever.so.1", "-o", so, c);
        return so;
    }
}
