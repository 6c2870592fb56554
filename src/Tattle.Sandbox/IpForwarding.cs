using System.Globalization;

namespace Tattle.Sandbox;

/// <summary>
/// net.ipv4.ip_forward, shared by every sandbox: the first to need it saves the host's value in
/// /run/tattle/ip_forward.before and turns it on; the last one to go (no state file left that needs it)
/// writes the saved value back. Called under <see cref="HostLock"/>.
/// </summary>
public static class IpForwarding
{
    private const string Sysctl = "/proc/sys/net/ipv4/ip_forward";

    private static string SavedPath => Path.Combine(SandboxState.Directory, "ip_forward.before");

    public static void Enable()
    {
        if (!File.Exists(SavedPath))
        {
            File.WriteAllText(SavedPath, File.ReadAllText(Sysctl).Trim() + "\n");
        }
        File.WriteAllText(Sysctl, "1\n");
    }

    /// <summary>Restores the saved value when no sandbox in <paramref name="remaining"/> needs forwarding.</summary>
    public static void Release(IEnumerable<SandboxState> remaining)
    {
        if (!File.Exists(SavedPath) || remaining.Any(s => s.Forwarding))
        {
            return;
        }
        string saved = File.ReadAllText(SavedPath).Trim();
        if (saved is "0" or "1")
        {
            File.WriteAllText(Sysctl, saved + "\n");
        }
        File.Delete(SavedPath);
    }

    /// <summary>Sets a per-interface IPv4 sysctl (net.ipv4.conf.IF.NAME) of an interface the sandbox owns.</summary>
    public static void SetInterface(string iface, string name, int value) =>
        File.WriteAllText($"/proc/sys/net/ipv4/conf/{iface}/{name}", value.ToString(CultureInfo.InvariantCulture) + "\n");
}
