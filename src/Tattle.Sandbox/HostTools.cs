using System.Diagnostics;

namespace Tattle.Sandbox;

/// <summary>The outcome of one `ip` or `nft` call.</summary>
public sealed record ToolResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Drives `ip` and `nft` as processes: their command lines are the documented interface, and `nft -f -` loads a
/// whole table atomically, which hand-made netlink messages would have to reimplement.
/// </summary>
public static class HostTools
{
    /// <summary>Finds a program on $PATH or in the sbin directories (root's tools are there even when PATH lacks them).</summary>
    public static string? Find(string name)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }

    /// <summary>Runs the tool and returns what it said; never throws for a non-zero exit.</summary>
    public static ToolResult Run(string tool, IEnumerable<string> args, string? stdin = null)
    {
        var exe = Find(tool) ?? throw new SandboxException($"{tool} is missing: install it (apt-get install {PackageOf(tool)})");
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new SandboxException($"cannot start {exe}");
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return new ToolResult(p.ExitCode, stdout, stderr.Result.Trim());
    }

    /// <summary>Runs the tool; a non-zero exit becomes a <see cref="SandboxException"/> quoting the command and its error.</summary>
    public static string Check(string tool, IReadOnlyList<string> args, string? stdin = null)
    {
        var r = Run(tool, args, stdin);
        if (r.ExitCode != 0)
        {
            string said = r.Stderr.Split('\n').FirstOrDefault(l => l.Length > 0) ?? $"exit {r.ExitCode}";
            throw new SandboxException($"{tool} {string.Join(' ', args)} failed: {said}");
        }
        return r.Stdout;
    }

    public static string PackageOf(string tool) => tool switch
    {
        "ip" => "iproute2",
        "nft" => "nftables",
        _ => tool,
    };
}
