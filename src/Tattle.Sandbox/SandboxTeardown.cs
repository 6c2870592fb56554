using Tattle.Interop;

namespace Tattle.Sandbox;

/// <summary>
/// Removes what a state file says a sandbox created, whatever of it exists: the processes still in the
/// namespace, the nft table, the veth, the namespace, /etc/netns/NAME, the state file, and ip_forward when it
/// was the last sandbox needing it. Used at a normal end and by `tattle sandbox --cleanup`. Call under <see cref="HostLock"/>.
/// </summary>
public static class SandboxTeardown
{
    /// <summary>Removes everything; throws a <see cref="SandboxException"/> naming what could not be removed.</summary>
    public static void Remove(SandboxState state)
    {
        var failures = new List<string>();
        void Try(string what, Func<bool> exists, Action remove)
        {
            try
            {
                if (exists())
                {
                    remove();
                }
                if (exists())
                {
                    failures.Add(what);
                }
            }
            catch (Exception e) when (e is SandboxException or IOException or UnauthorizedAccessException)
            {
                failures.Add($"{what} ({e.Message})");
            }
        }
        bool netnsExists() => File.Exists($"/run/netns/{state.Netns}");
        // A daemon the command left behind would keep the namespace, and so the veth, alive.
        Try($"the processes in {state.Netns}", () => netnsExists() && PidsIn(state.Netns).Count > 0, () => KillAll(state.Netns));
        Try($"nft table ip {state.NftTable}", () => HostTools.Run("nft", ["list", "table", "ip", state.NftTable]).ExitCode == 0,
            () => HostTools.Check("nft", ["delete", "table", "ip", state.NftTable]));
        Try($"interface {state.HostVeth}", () => Libc.IfNameToIndex(state.HostVeth) != 0,
            () => HostTools.Check("ip", ["link", "del", state.HostVeth]));
        Try($"network namespace {state.Netns}", netnsExists, () => HostTools.Check("ip", ["netns", "del", state.Netns]));
        Try(state.EtcDir, () => Directory.Exists(state.EtcDir), () => Directory.Delete(state.EtcDir, recursive: true));
        Try("/etc/netns", () => Directory.Exists("/etc/netns") && !Directory.EnumerateFileSystemEntries("/etc/netns").Any(),
            () => Directory.Delete("/etc/netns"));
        if (failures.Count > 0)
        {
            // The state file stays, so --cleanup can try again.
            throw new SandboxException($"could not remove {string.Join(", ", failures)} of sandbox {state.Netns} (tattle sandbox --cleanup retries)");
        }
        state.Delete();
        IpForwarding.Release(SandboxState.LoadAll());
    }

    private static List<int> PidsIn(string netns)
    {
        var r = HostTools.Run("ip", ["netns", "pids", netns]);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, out int pid) ? pid : 0).Where(pid => pid > 0).ToList();
    }

    private static void KillAll(string netns)
    {
        foreach (int signal in new[] { 15, 9 })
        {
            foreach (int pid in PidsIn(netns))
            {
                Libc.Kill(pid, signal);
            }
            for (int i = 0; i < 50 && PidsIn(netns).Count > 0; i++)
            {
                Thread.Sleep(20);
            }
        }
    }
}

/// <summary>`tattle sandbox --cleanup`: removes the sandboxes whose tattle is gone (SIGKILLed, crashed).</summary>
public static class SandboxCleanup
{
    /// <summary>Returns one line per sandbox, removed or left alone; throws when one could not be removed.</summary>
    public static IReadOnlyList<string> Run()
    {
        var lines = new List<string>();
        using var hostLock = HostLock.Acquire();
        var bad = new List<string>();
        foreach (var state in SandboxState.LoadAll(bad))
        {
            if (state.OwnerAlive)
            {
                lines.Add($"{state.Netns}: in use by tattle {state.OwnerPid}, left alone");
                continue;
            }
            SandboxTeardown.Remove(state);
            lines.Add($"{state.Netns}: removed (namespace, {state.HostVeth}, nft table {state.NftTable}, {state.EtcDir})");
        }
        lines.AddRange(bad.Select(f => $"{f}: not a sandbox state file, left alone"));
        // A crash between the last state file's removal and the restore would leave only the saved value.
        IpForwarding.Release(SandboxState.LoadAll());
        return lines;
    }
}
