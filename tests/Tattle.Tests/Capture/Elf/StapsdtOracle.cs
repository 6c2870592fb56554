using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Tattle.Tests.Capture.Elf;

/// <summary>A USDT note as `readelf -n` prints it: raw addresses, before any adjustment.</summary>
public sealed record OracleProbe(string Provider, string Name, ulong Location, ulong Base, ulong Semaphore, string Arguments);

/// <summary>What `readelf -n` and `readelf -SW` say about an object's SystemTap SDT notes and its `.stapsdt.base`.</summary>
public static partial class StapsdtOracle
{
    [GeneratedRegex(@"^\s*Location: 0x([0-9a-f]+), Base: 0x([0-9a-f]+), Semaphore: 0x([0-9a-f]+)")]
    private static partial Regex LocationRow();

    [GeneratedRegex(@"^\s*\[\s*\d+\]\s+\.stapsdt\.base\s+\S+\s+([0-9a-f]+)")]
    private static partial Regex BaseSection();

    /// <summary>The probes in note order.</summary>
    public static List<OracleProbe> Probes(string path)
    {
        var probes = new List<OracleProbe>();
        string provider = "", name = "";
        ulong location = 0, @base = 0, semaphore = 0;
        foreach (string line in ReadElf("-n", path))
        {
            string t = line.Trim();
            if (t.StartsWith("Provider: ", StringComparison.Ordinal))
            {
                provider = t["Provider: ".Length..];
            }
            else if (t.StartsWith("Name: ", StringComparison.Ordinal))
            {
                name = t["Name: ".Length..];
            }
            else if (LocationRow().Match(line) is { Success: true } m)
            {
                (location, @base, semaphore) = (Hex(m.Groups[1].Value), Hex(m.Groups[2].Value), Hex(m.Groups[3].Value));
            }
            else if (t.StartsWith("Arguments:", StringComparison.Ordinal))
            {
                probes.Add(new OracleProbe(provider, name, location, @base, semaphore, t["Arguments:".Length..].Trim()));
            }
        }
        return probes;
    }

    /// <summary>The address of the `.stapsdt.base` section, or null when there is none.</summary>
    public static ulong? BaseAddress(string path) =>
        ReadElf("-SW", path).Select(l => BaseSection().Match(l)).Where(m => m.Success).Select(m => (ulong?)Hex(m.Groups[1].Value)).FirstOrDefault();

    private static List<string> ReadElf(string option, string path)
    {
        var psi = new ProcessStartInfo("readelf") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(option);
        psi.ArgumentList.Add(path);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null)
        {
            lines.Add(line);
        }
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"readelf {option} {path}: {stderr.Result}");
        return lines;
    }

    private static ulong Hex(string s) => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
