using System.Diagnostics;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>The ./tattle entry point: its cost when everything is up to date, and `./tattle install`.</summary>
public sealed class InstallTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tattle-install-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int ExitCode, string Stdout, string Stderr) Run(string exe, string workingDirectory, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(300_000), $"{exe} {string.Join(' ', args)} did not finish");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [SkippableFact]
    public void UpToDate_TheEntryPointExecsNothingButTheTool()
    {
        Requires.Program(output, "strace");
        string tattle = Path.Combine(Repo.Root, "tattle");
        Assert.Equal(0, Run(tattle, Repo.Root, null, "--version").ExitCode); // builds, checks packages: stamps
        string trace = Path.Combine(_dir, "execs");
        var r = Run("strace", Repo.Root, null, "-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "-o", trace, tattle, "--version");
        Assert.Equal(0, r.ExitCode);
        // The script itself, then the tool: no package check, no find, no dirname (each was a fork and an exec).
        var execs = File.ReadAllLines(trace).Where(l => l.Contains("execve(", StringComparison.Ordinal) && l.TrimEnd().EndsWith("= 0", StringComparison.Ordinal)).ToList();
        output.WriteLine(string.Join('\n', execs));
        Assert.Equal(2, execs.Count);
    }

    [SkippableFact]
    public void Install_PutsAWrapperOnPath_ThatRunsFromAnyDirectory_WithBashCompletion()
    {
        var env = new Dictionary<string, string> { ["DESTDIR"] = _dir };
        var install = Run(Path.Combine(Repo.Root, "tattle"), Repo.Root, env, "install");
        output.WriteLine(install.Stderr);
        Assert.Equal(0, install.ExitCode);
        string wrapper = Path.Combine(_dir, "usr/local/bin/tattle");
        var version = Run(wrapper, "/", null, "--version");
        Assert.Equal(0, version.ExitCode);
        Assert.StartsWith("1.", version.Stdout);
        Assert.True(File.Exists(Path.Combine(_dir, "usr/local/share/zsh/site-functions/_tattle")));

        string completion = Path.Combine(_dir, "usr/share/bash-completion/completions/tattle");
        string Complete(string line)
        {
            string words = string.Join(' ', line.Split(' ').Select(w => $"'{w}'"));
            string script = $"source '{completion}'; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); _tattle; echo \"${{COMPREPLY[*]}}\"";
            var r = Run("bash", "/", null, "-c", script);
            Assert.Equal(0, r.ExitCode);
            return r.Stdout.Trim();
        }
        Assert.Equal("--snaplen", Complete("tattle run --sn"));
        Assert.Equal("attach", Complete("tattle at"));
        Assert.Contains("sandbox", Complete("tattle ").Split(' '));
        Assert.Contains("--as-root", Complete("tattle sandbox --a").Split(' '));
    }
}
