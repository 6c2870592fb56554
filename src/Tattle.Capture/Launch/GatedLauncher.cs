using System.Diagnostics;
using Tattle.Interop;

namespace Tattle.Capture.Launch;

/// <summary>
/// Starts a command held at a gate: a shell that blocks reading a FIFO, then execs the command in place (same
/// pid). The caller adds the pid to the kernel filter and only then opens the gate, so not even the command's
/// first connect is missed. The command inherits stdin, stdout and stderr untouched.
/// </summary>
public sealed class GatedLauncher : IDisposable
{
    // $1 is the FIFO; the rest is the command. `read` returns once tattle writes a line; exec keeps the pid.
    private const string GateScript = "f=$1; shift; IFS= read -r _ < \"$f\"; exec \"$@\"";

    private readonly string _gateDir;
    private readonly FileStream _gate;

    private GatedLauncher(Process process, string gateDir, FileStream gate, string executable)
    {
        Executable = executable;
        Process = process;
        _gateDir = gateDir;
        _gate = gate;
    }

    public Process Process { get; }

    public int Pid => Process.Id;

    /// <summary>The program the command execs, resolved through $PATH.</summary>
    public string Executable { get; }

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
        var gateDir = Directory.CreateTempSubdirectory("tattle-gate-").FullName;
        string fifo = Path.Combine(gateDir, "gate");
        if (Libc.MkFifo(fifo, 0x180 /* 0600 */) != 0)
        {
            Directory.Delete(gateDir, true);
            throw new NativeCallException("mkfifo", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
        // Held open read-write by tattle: opening never blocks, and the line written later stays in the pipe
        // until the shell reads it, however late the shell opens its end.
        var gate = new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(GateScript);
        psi.ArgumentList.Add("tattle-gate");
        psi.ArgumentList.Add(fifo);
        foreach (var arg in through ?? [])
        {
            psi.ArgumentList.Add(arg);
        }
        if (user is not null)
        {
            var account = UserAccount.Find(user) ?? throw new LaunchException($"no such user: {user}", 2);
            psi.ArgumentList.Add("setpriv");
            psi.ArgumentList.Add($"--reuid={account.Uid}");
            psi.ArgumentList.Add($"--regid={account.Gid}");
            psi.ArgumentList.Add("--init-groups");
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
            return new GatedLauncher(process, gateDir, gate, resolved);
        }
        catch
        {
            gate.Dispose();
            Directory.Delete(gateDir, true);
            throw;
        }
    }

    /// <summary>Lets the command run (it execs as soon as it reads the line).</summary>
    public void Release()
    {
        _gate.Write("\n"u8);
        _gate.Flush();
    }

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
        try
        {
            Directory.Delete(_gateDir, true);
        }
        catch (IOException)
        {
        }
        Process.Dispose();
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
}
