using System.Buffers.Binary;
using System.Diagnostics;
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

    /// <summary>A tiny HTTPS client built once per test run: plain, stripped, and what `go` says of them.</summary>
    private sealed record GoPrograms(string Plain, string Stripped, string Version, Dictionary<string, ulong> NmAddresses)
    {
        private static readonly Lazy<GoPrograms> Built = new(Build);

        private const string Source = """
            package main

            import (
            	"crypto/tls"
            	"fmt"
            	"net/http"
            	"os"
            )

            func main() {
            	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
            	resp, err := client.Get(os.Args[1])
            	if err != nil {
            		fmt.Println(err)
            		os.Exit(1)
            	}
            	fmt.Println(resp.Status)
            }
            """;

        internal static GoPrograms Get(ITestOutputHelper output)
        {
            Requires.Program(output, "go");
            return Built.Value;
        }

        private static GoPrograms Build()
        {
            var dir = Directory.CreateTempSubdirectory("tattle-go-").FullName;
            File.WriteAllText(Path.Combine(dir, "go.mod"), "module x\n\ngo 1.19\n");
            File.WriteAllText(Path.Combine(dir, "main.go"), Source);
            string plain = Path.Combine(dir, "plain");
            string stripped = Path.Combine(dir, "stripped");
            Go(dir, "build", "-o", plain, ".");
            Go(dir, "build", "-ldflags=-s -w", "-o", stripped, ".");
            string version = Go(dir, "version").Split(' ')[2];
            return new GoPrograms(plain, stripped, version, Nm(dir, plain));
        }

        /// <summary>`go tool nm`'s text symbols (it reads `.symtab`, so only of the plain binary).</summary>
        private static Dictionary<string, ulong> Nm(string dir, string binary)
        {
            var symbols = new Dictionary<string, ulong>();
            foreach (var line in Go(dir, "tool", "nm", binary).Split('\n'))
            {
                var parts = line.Trim().Split(' ', 3);
                if (parts.Length == 3 && parts[1] is "T" or "t")
                {
                    symbols.TryAdd(parts[2], ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
            }
            return symbols;
        }

        private static string Go(string dir, params string[] args)
        {
            var psi = new ProcessStartInfo("go", args)
            {
                WorkingDirectory = dir,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            // The standard library only, built offline into caches every run shares.
            psi.Environment["GOCACHE"] = "/tmp/tattle-go-cache";
            psi.Environment["GOPATH"] = "/tmp/tattle-go-path";
            psi.Environment["GOPROXY"] = "off";
            psi.Environment["GOFLAGS"] = "";
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(600_000))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException($"go {string.Join(' ', args)} did not finish");
            }
            Assert.True(p.ExitCode == 0, $"go {string.Join(' ', args)}: {stderr.Result}");
            return stdout;
        }
    }
}
