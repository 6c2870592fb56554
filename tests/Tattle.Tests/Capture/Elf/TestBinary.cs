using System.Diagnostics;

namespace Tattle.Tests.Capture.Elf;

/// <summary>A small C program compiled once per test run with `cc`: unstripped (.symtab) and a stripped copy.</summary>
public static class TestBinary
{
    public const string Source = """
        #include <stdio.h>
        __attribute__((noinline)) static int tattle_local_fn(int x) { return x * 3 + 1; }
        __attribute__((noinline)) int tattle_global_fn(int x) { return tattle_local_fn(x) + 7; }
        int tattle_data = 5;
        int main(int argc, char **argv) { printf("%d\n", tattle_global_fn(argc) + tattle_data); return 0; }
        """;

    private static readonly Lazy<(string Full, string Stripped)> Built = new(Build);

    /// <summary>The unstripped binary: tattle_local_fn and tattle_global_fn only in .symtab.</summary>
    public static string Unstripped => Built.Value.Full;

    /// <summary>The same after `strip`: .dynsym only.</summary>
    public static string Stripped => Built.Value.Stripped;

    private static (string, string) Build()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"tattle-elf-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string c = Path.Combine(dir, "t.c");
        string full = Path.Combine(dir, "t");
        string stripped = Path.Combine(dir, "t.stripped");
        File.WriteAllText(c, Source);
        Run("cc", "-O1", "-Wl,--build-id", "-o", full, c);
        Run("strip", "-o", stripped, full);
        return (full, stripped);
    }

    /// <summary>Runs a build tool, failing the test with its stderr when it fails.</summary>
    internal static void Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{program} failed: {err}");
    }
}
