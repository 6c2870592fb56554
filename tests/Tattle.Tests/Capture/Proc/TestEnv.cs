using System.Diagnostics;

namespace Tattle.Tests.Capture.Proc;

/// <summary>Helpers for tests that touch the live host.</summary>
internal static class TestEnv
{
    /// <summary>Runs a program to completion; returns exit code and stdout.</summary>
    public static (int Code, string Stdout, string Stderr) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }

    /// <summary>Starts a long-running helper whose first stdout line says it is ready.</summary>
    public static (Process Process, string FirstLine) StartWithReadyLine(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        var line = p.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(20)) || line.Result is null)
        {
            string err = p.HasExited ? p.StandardError.ReadToEnd() : "(timeout)";
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} did not get ready: {err}");
        }
        return (p, line.Result!);
    }

    public static ulong NetNsOf(int pid)
    {
        string link = new FileInfo($"/proc/{pid}/ns/net").LinkTarget!;
        return ulong.Parse(link["net:[".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
    }

    public static ulong InodeOfFd(int pid, int fd)
    {
        string link = new FileInfo($"/proc/{pid}/fd/{fd}").LinkTarget!;
        Assert.StartsWith("socket:[", link);
        return ulong.Parse(link["socket:[".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
