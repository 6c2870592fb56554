using Tattle.Capture.Elf;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Elf;

public class ElfFileTests(ITestOutputHelper output)
{
    public const string LibSsl = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
    public const string LibGnuTls = "/usr/lib/x86_64-linux-gnu/libgnutls.so.30";
    public const string Node = "/usr/bin/node";

    internal static readonly string[] OpenSslNames = ["SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex"];
    internal static readonly string[] GnuTlsNames = ["gnutls_record_recv", "gnutls_record_send"];

    [SkippableTheory]
    [InlineData(LibSsl, "SSL_read,SSL_write,SSL_read_ex,SSL_write_ex,SSL_CTX_new")]
    [InlineData(LibGnuTls, "gnutls_record_recv,gnutls_record_send,gnutls_init")]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so.6", "read,write,malloc,SSL_read")]
    public void SystemLibrary_FunctionsAndOffsets_MatchReadelf(string path, string names)
    {
        Requires.FileFrom(output, path, Package(path));
        var wanted = names.Split(',');
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(path, out var elf));
        using (elf)
        {
            var found = elf!.FindFunctions(wanted);
            var oracle = ReadElfOracle.Of(path);
            oracle.AssertMatches(found, wanted);
            Assert.True(elf.HasDynSym);
            Assert.Equal(oracle.BuildId, elf.BuildId);
            Assert.All(found, f => Assert.Equal(ElfSymbolTable.DynSym, f.Table));
        }
    }

    [SkippableFact]
    public void LibSsl_HasAllFourEntryPoints()
    {
        Requires.FileFrom(output, LibSsl, "libssl3");
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(LibSsl, out var elf));
        using (elf)
        {
            Assert.Equal(OpenSslNames, elf!.FindFunctions(OpenSslNames).Select(f => f.Name));
        }
    }

    [SkippableFact]
    public void Node_StaticOpenSsl_OffsetsMatchReadelf_WithBoundedMemory()
    {
        // Node is a fixed-address executable (p_vaddr 0x400000 ≠ p_offset), so this checks the address → offset mapping.
        Requires.FileFrom(output, Node, "nodejs");
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(Node, out var elf));
        using (elf)
        {
            string[] names = [.. OpenSslNames, .. GnuTlsNames, "main"];
            long before = GC.GetAllocatedBytesForCurrentThread();
            var found = elf!.FindFunctions(names);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            ReadElfOracle.Of(Node).AssertMatches(found, names);
            Assert.Equal(OpenSslNames, found.Where(f => f.Name.StartsWith("SSL_", StringComparison.Ordinal)).Select(f => f.Name));
            Assert.Contains(found, f => f.FileOffset != f.Address);
            // Its symbol and string tables hold 17 MB; the scan streams them through pooled chunks.
            Assert.True(allocated < 4 << 20, $"allocated {allocated} bytes");
        }
    }

    [SkippableFact]
    public void CompiledBinary_SymtabOnlyFunctions_AreFound_AndStrippedCopyHasNone()
    {
        Requires.Program(output, "cc");
        string[] names = ["tattle_global_fn", "tattle_local_fn", "main", "tattle_data", "printf"];
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(TestBinary.Unstripped, out var elf));
        using (elf)
        {
            var found = elf!.FindFunctions(names);
            var oracle = ReadElfOracle.Of(TestBinary.Unstripped);
            oracle.AssertMatches(found, names);
            Assert.True(elf.HasSymTab);
            Assert.Equal(["tattle_global_fn", "tattle_local_fn", "main"], found.Select(f => f.Name));
            Assert.All(found, f => Assert.Equal(ElfSymbolTable.SymTab, f.Table));
            Assert.NotNull(elf.BuildId);
            Assert.Equal(oracle.BuildId, elf.BuildId);
        }
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(TestBinary.Stripped, out var stripped));
        using (stripped)
        {
            Assert.False(stripped!.HasSymTab);
            Assert.True(stripped.HasDynSym);
            Assert.Empty(stripped.FindFunctions(names));
        }
    }

    [SkippableFact]
    public void DynsymIsPreferred_OverSymtab()
    {
        Requires.FileFrom(output, Node, "nodejs");
        // node defines SSL_write in both tables (see readelf -Ws): the .dynsym entry must be the one reported.
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(Node, out var elf));
        using (elf)
        {
            Assert.True(elf!.HasSymTab);
            Assert.Equal(ElfSymbolTable.DynSym, Assert.Single(elf.FindFunctions(["SSL_write"])).Table);
        }
    }

    private static string Package(string path) => path == LibSsl ? "libssl3" : path == LibGnuTls ? "libgnutls30" : "libc6";
}
