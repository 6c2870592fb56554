using System.Diagnostics;
using System.Globalization;

namespace Tattle.Tests.Capture.Libs;

/// <summary>A `.dynsym` row as binutils prints it: the oracle `tattle libs` is checked against.</summary>
/// <param name="Symbol">name, name@V or name@@V, exactly as `nm -D` prints it.</param>
public sealed record OracleDynSym(string Symbol, ulong Value, bool Defined, string Type);

/// <summary>Runs `nm -D` and `readelf --dyn-syms -W` on a file.</summary>
public static class DynamicSymbolOracle
{
    /// <summary>`nm -D` rows: "VALUE TYPE NAME" for definitions, "U NAME" (and "w NAME") for undefined ones.</summary>
    public static List<OracleDynSym> Nm(string path)
    {
        var rows = new List<OracleDynSym>();
        foreach (var line in Output("nm", "-D", path).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 3)
            {
                rows.Add(new OracleDynSym(f[2], ulong.Parse(f[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), true, f[1]));
            }
            else if (f.Length == 2)
            {
                rows.Add(new OracleDynSym(f[1], 0, false, f[0]));
            }
        }
        return rows;
    }

    /// <summary>`readelf --dyn-syms -W` rows: Num: Value Size Type Bind Vis Ndx Name, the " (N)" after imports dropped.</summary>
    public static List<OracleDynSym> ReadElf(string path)
    {
        var rows = new List<OracleDynSym>();
        foreach (var line in Output("readelf", "--dyn-syms", "-W", path).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 8 || !f[0].EndsWith(':') || !int.TryParse(f[0].TrimEnd(':'), CultureInfo.InvariantCulture, out _))
            {
                continue;
            }
            rows.Add(new OracleDynSym(f[7], ulong.Parse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture), f[6] != "UND", f[3]));
        }
        return rows;
    }

    /// <summary>A program's standard output; the test fails when it exits non-zero.</summary>
    public static string Output(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{program} {string.Join(' ', args)} failed: {stderr.Result}");
        return stdout;
    }
}
