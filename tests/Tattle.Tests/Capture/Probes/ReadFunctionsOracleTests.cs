using Tattle.Capture.Elf;
using Tattle.Capture.Libs;
using Tattle.Tests.Capture.Elf;
using Tattle.Tests.Capture.Libs;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Probes;

/// <summary>The functions `tattle probe` can attach to in real libraries, against `nm -D --defined-only` and readelf.</summary>
public class ReadFunctionsOracleTests(ITestOutputHelper output)
{
    private const string Libzmq = "/usr/lib/x86_64-linux-gnu/libzmq.so.5";
    private const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";

    [SkippableTheory]
    [InlineData(Libzmq, "libzmq5", "*", 60)]
    [InlineData(Libzmq, "libzmq5", "zmq_*", 60)]
    [InlineData(Libc, "libc6", "*", 2000)]
    [InlineData(Libc, "libc6", "getaddrinfo", 1)]
    [InlineData(Libc, "libc6", "[a-c]*", 100)]
    public void Functions_AreNmsDefinedCode_AtTheSameAddresses(string path, string package, string glob, int atLeast)
    {
        Requires.FileFrom(output, path, package);
        Requires.Program(output, "nm");
        Requires.Program(output, "readelf");
        var pattern = new SymbolGlob(glob);
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(path, out var elf));
        List<ElfFunction> ours;
        using (elf)
        {
            Assert.Equal(ElfStatus.Ok, elf!.ReadFunctions(pattern.IsMatch, out var functions));
            ours = [.. functions];
        }
        // T: text, i: indirect function (its resolver's address), W: weak code. A name defined in several versions at
        // one address (memcpy@GLIBC_2.2.5 and a default version) is one place to attach.
        var nm = DynamicSymbolOracle.Nm(path)
            .Where(r => r.Defined && r.Type is "T" or "i" or "W" && r.Value != 0)
            .Select(r => (Name: r.Symbol.Split('@')[0], r.Value))
            .Where(r => pattern.IsMatch(r.Name))
            .Distinct()
            .Order()
            .ToList();
        Assert.True(nm.Count >= atLeast, $"nm lists only {nm.Count} functions matching {glob} in {path}");
        Assert.Equal(nm, ours.Select(f => (f.Name, Value: f.Address)).Order().ToList());
        Assert.Equal(ours.Count, ours.Select(f => (f.Name, f.Address)).Distinct().Count());

        var readelf = ReadElfOracle.Of(path);
        Assert.All(ours, f => Assert.Equal(readelf.FileOffset(f.Address), f.FileOffset));
        Assert.All(ours, f => Assert.Equal(ElfSymbolTable.DynSym, f.Table));
    }

    [SkippableFact]
    public void NoMatch_IsAnEmptyList()
    {
        Requires.FileFrom(output, Libzmq, "libzmq5");
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(Libzmq, out var elf));
        using (elf)
        {
            Assert.Equal(ElfStatus.Ok, elf!.ReadFunctions(new SymbolGlob("getaddrinfo").IsMatch, out var functions));
            Assert.Empty(functions);
            // Imported (undefined) functions are not probe places in this object.
            Assert.Equal(ElfStatus.Ok, elf.ReadFunctions(new SymbolGlob("malloc").IsMatch, out functions));
            Assert.Empty(functions);
        }
    }
}
