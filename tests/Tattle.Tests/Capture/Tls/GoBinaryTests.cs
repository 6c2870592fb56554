using System.Buffers.Binary;
using System.Globalization;
using Tattle.Capture.Elf;
using Tattle.Capture.Tls.Go;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Tls;

/// <summary>Go binaries built here by the real toolchain, plain and stripped, read and checked against `go tool nm`.</summary>
public class GoBinaryTests(ITestOutputHelper output)
{
    private const string Write = "crypto/tls.(*Conn).Write";
    private const string Read = "crypto/tls.(*Conn).Read";

    [SkippableFact]
    public void Version_IsTheToolchains()
    {
        var go = GoPrograms.Get(output);
        Assert.Equal(go.Version, GoBinary.Read(go.Plain).Version);
        Assert.Equal(go.Version, GoBinary.Read(go.Stripped).Version);
    }

    [SkippableFact]
    public void Stripped_IsDetected()
    {
        var go = GoPrograms.Get(output);
        var plain = GoBinary.Read(go.Plain);
        var stripped = GoBinary.Read(go.Stripped);
        Assert.True(plain.IsGo);
        Assert.True(stripped.IsGo);
        Assert.False(plain.Stripped);
        Assert.True(stripped.Stripped);
        Assert.Empty(plain.Problems);
        Assert.Empty(stripped.Problems);
    }

    [SkippableFact]
    public void TlsFunctions_AgreeWithGoToolNm_PlainFromSymtab_StrippedFromPclntab()
    {
        var go = GoPrograms.Get(output);
        var plain = GoBinary.Read(go.Plain);
        var stripped = GoBinary.Read(go.Stripped);
        Assert.Equal([Write, Read], plain.Functions.Select(f => f.Name));
        Assert.Equal([Write, Read], stripped.Functions.Select(f => f.Name));
        Assert.All(plain.Functions, f => Assert.Equal(GoSymbolSource.SymTab, f.Source));
        Assert.All(stripped.Functions, f => Assert.Equal(GoSymbolSource.PclnTab, f.Source));
        foreach (var name in (string[])[Write, Read])
        {
            var p = plain.Function(name)!;
            var s = stripped.Function(name)!;
            Assert.Equal(go.NmAddresses[name], p.Address);
            // -s -w drops symbols and DWARF only: the code, and so every address, is the same.
            Assert.Equal(p.Address, s.Address);
            Assert.Equal(p.FileOffset, s.FileOffset);
            // pclntab's size runs to the next function, so it includes the padding .symtab's size leaves out.
            Assert.InRange(s.Size, p.Size, p.Size + 64);
            Assert.Equal(p.ReturnOffsets, s.ReturnOffsets);
        }
    }

    [SkippableFact]
    public void Pclntab_OfThePlainBinary_MatchesItsSymtab_ForEveryFunction()
    {
        var go = GoPrograms.Get(output);
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(go.Plain, out var elf));
        using (elf)
        {
            var table = GoPclnTab.TryLoad(elf!, out var reason);
            Assert.True(table is not null, reason);
            var functions = table.Functions().ToList();
            Assert.Equal(table.Count, functions.Count);
            int compared = 0;
            foreach (var (name, entry) in functions)
            {
                // The linker names the ABI0 twin of an assembly function "name.abi0" in .symtab; pclntab does not.
                ulong? plain = go.NmAddresses.TryGetValue(name, out ulong a) ? a : null;
                ulong? abi0 = go.NmAddresses.TryGetValue(name + ".abi0", out ulong b) ? b : null;
                if (plain is not null || abi0 is not null)
                {
                    Assert.True(entry == plain || entry == abi0, $"{name}: pclntab 0x{entry:x}, nm 0x{plain:x} / 0x{abi0:x}");
                    compared++;
                }
            }
            Assert.True(compared > 1000, $"only {compared} functions compared");
        }
    }

    [SkippableFact]
    public void ReturnOffsets_AreRetInstructions_InsideTheFunction()
    {
        var go = GoPrograms.Get(output);
        foreach (var path in (string[])[go.Plain, go.Stripped])
        {
            var bytes = File.ReadAllBytes(path);
            foreach (var f in GoBinary.Read(path).Functions)
            {
                Assert.NotEmpty(f.ReturnOffsets);
                Assert.All(f.ReturnOffsets, at =>
                {
                    Assert.InRange(at, f.FileOffset + 1, f.FileOffset + f.Size - 1);
                    Assert.Equal(0xC3, bytes[at]);
                });
            }
        }
    }

    [SkippableFact]
    public void BodyOffset_IsPastTheStackCheck_AndBeforeTheFirstRet()
    {
        var go = GoPrograms.Get(output);
        foreach (var path in (string[])[go.Plain, go.Stripped])
        {
            var bytes = File.ReadAllBytes(path);
            foreach (var f in GoBinary.Read(path).Functions)
            {
                // The check is CMP against 16(R14) (REX.W with R14 as the base: 0x49 or 0x4d, 0x3b, ModRM base 6) and a
                // JBE (0x0f 0x86 rel32 or 0x76 rel8) that ends right where the probe goes.
                var prologue = bytes.AsSpan((int)f.FileOffset, (int)(f.BodyOffset - f.FileOffset));
                Assert.InRange(prologue.Length, 6, 24);
                Assert.True(prologue.IndexOf((byte)0x3b) > 0, $"{f.Name}: no CMP in {Convert.ToHexString(prologue)}");
                Assert.True(prologue[^6..^4].SequenceEqual((byte[])[0x0f, 0x86]) || prologue[^2] == 0x76, $"{f.Name}: no JBE ending {Convert.ToHexString(prologue)}");
                Assert.True(f.BodyOffset < f.ReturnOffsets[0]);
            }
        }
    }

    [SkippableFact]
    public void ConnLayout_IsWhatReflectionSays()
    {
        var go = GoPrograms.Get(output);
        var r = Programs.Run(go.Plain, "offsets");
        Assert.Equal(0, r.ExitCode);
        var layout = GoConnLayout.For(go.Version, out string reason);
        Assert.True(layout is not null, reason);
        Assert.Equal($"{layout.ConnInterface} {layout.NetFd} {layout.SysFd}", r.Stdout.Trim());
    }

    [Theory]
    [InlineData("go1.17", true)]
    [InlineData("go1.19.8", true)]
    [InlineData("go1.22.0 X:boringcrypto", true)]
    [InlineData("devel go1.24-abcdef", true)]
    [InlineData("go1.16.15", false)]
    [InlineData("go1.9", false)]
    [InlineData("gccgo", false)]
    [InlineData(null, false)]
    public void ConnLayout_OnlyForTheRegisterAbi(string? version, bool probed)
    {
        var layout = GoConnLayout.For(version, out string reason);
        Assert.Equal(probed, layout is not null);
        Assert.Equal(probed, reason.Length == 0);
    }

    [Fact]
    public void FindBody_WithoutAStackCheck_IsTheEntry()
    {
        // PUSH RBP; MOV RBP, RSP; RET: a function with no stack check (NOSPLIT) is probed at its entry.
        Assert.Equal(0x1000ul, GoBinary.FindBody([0x55, 0x48, 0x89, 0xe5, 0xc3], 0x401000, 0x1000));
    }

    [Fact]
    public void NonGoElf_IsNotGo()
    {
        var ls = GoBinary.Read("/bin/ls");
        Assert.False(ls.IsGo);
        Assert.Empty(ls.Functions);
        Assert.StartsWith("not Go", Assert.Single(ls.Problems), StringComparison.Ordinal);
        Assert.Equal("not an ELF file", Assert.Single(GoBinary.Read("/etc/hostname").Problems));
    }

    [SkippableFact]
    public void DamagedGoBinaries_GiveReasons_NeverThrow()
    {
        var go = GoPrograms.Get(output);
        var bytes = File.ReadAllBytes(go.Stripped);
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(go.Stripped, out var elf));
        ElfSection pcln;
        using (elf)
        {
            Assert.True(elf!.TryFindSection(".gopclntab", out pcln));
        }
        var random = new Random(7);
        for (int round = 0; round < 200; round++)
        {
            var damaged = (byte[])bytes.Clone();
            // Scribble over the table's header and functab, where every length and offset lives.
            for (int i = 0; i < 16; i++)
            {
                damaged[(int)pcln.Offset + random.Next(0, 4096)] = (byte)random.Next(256);
            }
            int length = round % 4 == 0 ? random.Next(0, damaged.Length) : damaged.Length;
            if (ElfFile.Open(damaged.AsMemory(0, length), out var d) == ElfStatus.Ok)
            {
                using (d)
                {
                    var info = GoBinary.Read(d!, GoBinary.TlsFunctionNames);
                    Assert.True(info.Functions.Count == 2 || info.Problems.Count > 0);
                }
            }
        }
    }

    [SkippableFact]
    public void Version_InThePointerFormOfGoBefore118_IsFollowedThroughTheSegments()
    {
        var go = GoPrograms.Get(output);
        var bytes = File.ReadAllBytes(go.Stripped);
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(go.Stripped, out var elf));
        ElfSection info;
        using (elf)
        {
            Assert.True(elf!.TryFindSection(".go.buildinfo", out info));
        }
        Assert.True(info.Size >= 0x120, $".go.buildinfo of {info.Size} bytes has no room for the rewrite");
        // Rewrite the 1.18 header as Go 1.17 wrote it: flags 0, then the address of a (pointer, length) string header.
        int at = (int)info.Offset;
        bytes[at + 15] = 0;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 16), info.Address + 0x100);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 0x100), info.Address + 0x110);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 0x108), 9);
        "go1.17.13"u8.CopyTo(bytes.AsSpan(at + 0x110));
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(bytes, out var old));
        using (old)
        {
            Assert.Equal("go1.17.13", GoBinary.Read(old!, GoBinary.TlsFunctionNames).Version);
        }

        // A string header pointing outside the file is a reason, not an exception.
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 0x100), 0xdead_0000_0000);
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(bytes, out var bad));
        using (bad)
        {
            var result = GoBinary.Read(bad!, GoBinary.TlsFunctionNames);
            Assert.Null(result.Version);
            Assert.True(result.IsGo);
            Assert.Contains("the version string is outside the file", result.Problems);
        }
    }
}
