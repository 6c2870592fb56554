using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Tattle.Capture.Elf;

namespace Tattle.Tests.Capture.Elf;

/// <summary>A symbol row as binutils' readelf prints it.</summary>
public sealed record OracleSymbol(string Name, ulong Value, ulong Size, string Type, string Bind, string Ndx, ElfSymbolTable Table);

/// <summary>What `readelf -W -s -l -n` says about a file: the oracle the hand-written reader is checked against.</summary>
public sealed partial class ReadElfOracle
{
    private readonly List<(ulong Offset, ulong VirtualAddress, ulong FileSize)> _loads = [];

    private ReadElfOracle()
    {
    }

    public List<OracleSymbol> Symbols { get; } = [];

    public string? BuildId { get; private set; }

    [GeneratedRegex(@"^\s*\d+:\s+([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+(\w+)\s+(\w+)\s+(\w+)\s+(\w+)\s+([^@\s]*)")]
    private static partial Regex SymbolRow();

    [GeneratedRegex(@"^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)")]
    private static partial Regex LoadRow();

    [GeneratedRegex(@"Build ID: ([0-9a-f]+)")]
    private static partial Regex BuildIdRow();

    public static ReadElfOracle Of(string path)
    {
        var psi = new ProcessStartInfo("readelf") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-W", "-s", "-l", "-n", path })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var oracle = new ReadElfOracle();
        var table = ElfSymbolTable.DynSym;
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null)
        {
            if (line.StartsWith("Symbol table '", StringComparison.Ordinal))
            {
                table = line.Contains("'.dynsym'", StringComparison.Ordinal) ? ElfSymbolTable.DynSym : ElfSymbolTable.SymTab;
            }
            else if (SymbolRow().Match(line) is { Success: true } s)
            {
                string size = s.Groups[2].Value;
                oracle.Symbols.Add(new OracleSymbol(s.Groups[7].Value, Hex(s.Groups[1].Value),
                    size.StartsWith("0x", StringComparison.Ordinal) ? Hex(size[2..]) : ulong.Parse(size, CultureInfo.InvariantCulture),
                    s.Groups[3].Value, s.Groups[4].Value, s.Groups[6].Value, table));
            }
            else if (LoadRow().Match(line) is { Success: true } l)
            {
                oracle._loads.Add((Hex(l.Groups[1].Value), Hex(l.Groups[2].Value), Hex(l.Groups[3].Value)));
            }
            else if (BuildIdRow().Match(line) is { Success: true } b)
            {
                oracle.BuildId = b.Groups[1].Value;
            }
        }
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"readelf {path}: {stderr.Result}");
        return oracle;
    }

    /// <summary>The function the reader should report for <paramref name="name"/>, by the reader's documented rules.</summary>
    public OracleSymbol? Function(string name)
    {
        foreach (var table in new[] { ElfSymbolTable.DynSym, ElfSymbolTable.SymTab })
        {
            var candidates = Symbols.Where(s => s.Table == table && s.Name == name && s.Type == "FUNC" && s.Ndx != "UND" && s.Value != 0).ToList();
            var best = candidates.OrderBy(s => s.Bind switch { "GLOBAL" or "UNIQUE" => 0, "WEAK" => 1, _ => 2 }).FirstOrDefault();
            if (best is not null)
            {
                return best;
            }
        }
        return null;
    }

    /// <summary>The file offset of a virtual address through readelf's LOAD rows.</summary>
    public ulong FileOffset(ulong address)
    {
        var (offset, vaddr, _) = _loads.Single(l => address >= l.VirtualAddress && address < l.VirtualAddress + l.FileSize);
        return address - vaddr + offset;
    }

    /// <summary>Asserts that the reader found exactly what readelf lists for each name, with the same file offset.</summary>
    public void AssertMatches(IReadOnlyList<ElfFunction> found, IEnumerable<string> names)
    {
        foreach (string name in names)
        {
            var expected = Function(name);
            var actual = found.Where(f => f.Name == name).ToList();
            if (expected is null)
            {
                Assert.Empty(actual);
                continue;
            }
            var f = Assert.Single(actual);
            Assert.Equal((expected.Value, expected.Size, expected.Table), (f.Address, f.Size, f.Table));
            Assert.Equal(FileOffset(expected.Value), f.FileOffset);
        }
    }

    private static ulong Hex(string s) => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
