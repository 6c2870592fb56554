using System.Diagnostics;
using Microsoft.Win32.SafeHandles;
using Tattle.Interop;

namespace Tattle.Capture.Launch;

/// <summary>
/// Starts a command held at a gate: a shell that blocks reading a pipe, then execs the command in place (same
/// pid). The caller adds the pid to the kernel filter and only then opens the gate, so not even the command's
/// first connect is missed. The command inherits stdin, stdout and stderr untouched.
/// </summary>
/// <remarks>
/// The gate is an anonymous pipe the shell opens as /proc/TATTLE/fd/N: nothing on the filesystem, so nothing is
/// left behind however tattle ends (a FIFO in /tmp stayed after SIGKILL and on some error paths). The pipe's
/// ends are close-on-exec, so the command never holds them; when tattle dies before opening the gate the shell
/// reads end-of-file and exits instead of running the command untraced.
/// </remarks>
public sealed class GatedLauncher : IDisposable
{
    // $1 is the gate; the rest is the command. `read` returns once tattle writes a line; exec keeps the pid.
    private const string GateScript = "f=$1; shift; IFS= read -r _ < \"$f\" || exit 125; exec \"$@\"";

    private readonly GatePipe _gate;

    private GatedLauncher(Process process, GatePipe gate, string executable, int? uid)
    {
        Executable = executable;
        Uid = uid;
        Process = process;
        _gate = gate;
    }

    public Process Process { get; }

    public int Pid => Process.Id;

    /// <summary>The program the command execs, resolved through $PATH.</summary>
    public string Executable { get; }

    /// <summary>The user the command runs as, when it was given one.</summary>
    public int? Uid { get; }

    /// <summary>
    /// Starts <paramref name="argv"/> gated. <paramref name="user"/> (optional) runs it as that user through
    /// setpriv, which execs in place too. <paramref name="through"/> (optional) is a program line that execs the
    /// rest in place before the user switch, e.g. `ip netns exec NAME` (the sandbox). Throws
    /// <see cref="LaunchException"/> for a command that cannot run.
    /// </summary>
    public static GatedLauncher Start(IReadOnlyList<string> argv, string? user = null, IReadOnlyList<string>? through = null)
    {
        if (argv.Count == 0)
        {
            throw new LaunchException("no command given", 2);
        }
        string resolved = ResolveCommand(argv[0]);
        var account = user is null ? null : UserAccount.Find(user) ?? throw new LaunchException($"no such user: {user}", 2);
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        if (DefaultSignalEnv.Value is { } env)
        {
            // The runtime ignores SIGPIPE and a child keeps an ignored signal through exec, where a shell cannot
            // take it back: `yes | head -1` would fail on EPIPE instead of dying of the signal. env execs in
            // place, before the gate, so neither it nor the shell is ever traced.
            psi.FileName = env;
            psi.ArgumentList.Add("--default-signal=PIPE");
            psi.ArgumentList.Add("/bin/sh");
        }
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(GateScript);
        psi.ArgumentList.Add("tattle-gate");
        var gate = GatePipe.Create();
        psi.ArgumentList.Add(gate.ReadPath);
        foreach (var arg in through ?? [])
        {
            psi.ArgumentList.Add(arg);
        }
        if (account is not null)
        {
            psi.ArgumentList.Add("setpriv");
            psi.ArgumentList.Add($"--reuid={account.Uid}");
            psi.ArgumentList.Add($"--regid={account.Gid}");
            // The groups by number, looked up here: --init-groups would make setpriv, after the gate, ask the
            // name service (nscd's socket, LDAP...), and its lookups would be traced as the command's.
            psi.ArgumentList.Add($"--groups={string.Join(',', account.Groups())}");
            psi.ArgumentList.Add("--");
            psi.Environment["HOME"] = account.Home;
            psi.Environment["USER"] = account.Name;
            psi.Environment["LOGNAME"] = account.Name;
        }
        psi.ArgumentList.Add(resolved);
        foreach (var arg in argv.Skip(1))
        {
            psi.ArgumentList.Add(arg);
        }
        try
        {
            var process = Process.Start(psi) ?? throw new LaunchException("could not start /bin/sh", 2);
            return new GatedLauncher(process, gate, resolved, account?.Uid);
        }
        catch
        {
            gate.Dispose();
            throw;
        }
    }

    /// <summary>
    /// env, when it can give a signal its default action back (coreutils 8.31 and later); null otherwise, when the
    /// command keeps SIGPIPE ignored.
    /// </summary>
    private static readonly Lazy<string?> DefaultSignalEnv = new(() =>
    {
        foreach (var env in (string[])["/usr/bin/env", "/bin/env"])
        {
            if (!File.Exists(env))
            {
                continue;
            }
            try
            {
                using var probe = Process.Start(new ProcessStartInfo(env, ["--default-signal=PIPE", "true"])
                {
                    UseShellExecute = false,
                    RedirectStandardError = true,
                });
                if (probe is null)
                {
                    continue;
                }
                probe.StandardError.ReadToEnd();
                probe.WaitForExit();
                return probe.ExitCode == 0 ? env : null;
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
        }
        return null;
    });

    /// <summary>Lets the command run (it execs as soon as it reads the line).</summary>
    public void Release() => _gate.Open();

    /// <summary>Waits for the command; returns its exit code, or 128+N when signal N killed it (like a shell).</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancel)
    {
        await Process.WaitForExitAsync(cancel).ConfigureAwait(false);
        return Process.ExitCode;
    }

    /// <summary>Finds a command like the shell does: a path as given, otherwise through $PATH.</summary>
    public static string ResolveCommand(string command)
    {
        if (command.Contains('/'))
        {
            return CheckExecutable(command) ?? throw new LaunchException($"{command}: No such file or directory", 127);
        }
        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, command);
            if (File.Exists(candidate))
            {
                return CheckExecutable(candidate) ?? throw new LaunchException($"{command}: Permission denied", 126);
            }
        }
        throw new LaunchException($"{command}: command not found", 127);
    }

    private static string? CheckExecutable(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        var mode = File.GetUnixFileMode(path);
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        if ((mode & anyExecute) == 0)
        {
            throw new LaunchException($"{path}: Permission denied", 126);
        }
        return path;
    }

    public void Dispose()
    {
        _gate.Dispose();
        Process.Dispose();
    }
}

/// <summary>The gate: a pipe whose read end the shell opens through /proc, and whose write end lets it go.</summary>
internal sealed class GatePipe : IDisposable
{
    private readonly SafeFileHandle _read;
    private readonly FileStream _write;

    private GatePipe(SafeFileHandle read, FileStream write, string readPath)
    {
        _read = read;
        _write = write;
        ReadPath = readPath;
    }

    /// <summary>The path that opens the read end from another process: /proc/TATTLE/fd/N.</summary>
    public string ReadPath { get; }

    public static GatePipe Create()
    {
        var (read, write) = Libc.Pipe();
        // The read end stays open here until Dispose: the line written stays in the pipe until the shell reads
        // it, however late the shell opens its end.
        string path = $"/proc/{Environment.ProcessId}/fd/{read.DangerousGetHandle()}";
        return new GatePipe(read, new FileStream(write, FileAccess.Write, bufferSize: 0), path);
    }

    public void Open()
    {
        _write.Write("\n"u8);
        _write.Flush();
    }

    public void Dispose()
    {
        _write.Dispose();
        _read.Dispose();
    }
}

/// <summary>A command could not be started; <see cref="ExitCode"/> is what a shell would return (126, 127).</summary>
public sealed class LaunchException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>An entry of /etc/passwd.</summary>
public sealed record UserAccount(string Name, int Uid, int Gid, string Home)
{
    /// <summary>Finds a user by name or numeric id in /etc/passwd.</summary>
    public static UserAccount? Find(string nameOrId)
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var f = line.Split(':');
            if (f.Length < 7 || !int.TryParse(f[2], out int uid) || !int.TryParse(f[3], out int gid))
            {
                continue;
            }
            if (f[0] == nameOrId || f[2] == nameOrId)
            {
                return new UserAccount(f[0], uid, gid, f[5]);
            }
        }
        return null;
    }

    /// <summary>The groups the user belongs to, its own first, as initgroups(3) would give it (the name service's).</summary>
    public IReadOnlyList<int> Groups() => Libc.GroupList(Name, Gid);
}
