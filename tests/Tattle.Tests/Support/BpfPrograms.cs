using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Tattle.Tests.Support;

/// <summary>The BPF programs loaded on the machine, as <c>bpftool prog show</c> lists them ("ID: TYPE  name NAME ...").</summary>
public static partial class BpfPrograms
{
    /// <summary>The ids of the loaded programs whose name satisfies <paramref name="name"/>.</summary>
    public static HashSet<int> Ids(Func<string, bool> name)
    {
        var psi = new ProcessStartInfo("bpftool", ["prog", "show"]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return [.. Line().Matches(text).Where(m => name(m.Groups[2].Value)).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];
    }

    [GeneratedRegex(@"(?m)^(\d+): \S+\s+name (\S+)")]
    private static partial Regex Line();
}
