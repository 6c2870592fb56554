using System.Globalization;
using Tattle.Interop;

namespace Tattle.Capture.Proc;

/// <summary>Network namespace ids (nsfs inode numbers) and the names `ip netns` gives them under /run/netns.</summary>
public sealed class NetNamespaces
{
    private readonly Dictionary<ulong, string> _names = [];
    private readonly Dictionary<string, ulong> _byName = new(StringComparer.Ordinal);

    /// <summary>Reads the named namespaces: every file in <paramref name="dir"/> is an nsfs bind mount whose inode is the id.</summary>
    public static NetNamespaces Load(string dir = "/run/netns")
    {
        var result = new NetNamespaces();
        string[] files;
        try
        {
            files = Directory.GetFiles(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return result;
        }
        foreach (string file in files)
        {
            if (ProcNative.Stat(file, out ulong inode, out _) == 0)
            {
                string name = Path.GetFileName(file);
                result._names.TryAdd(inode, name);
                result._byName.TryAdd(name, inode);
            }
        }
        return result;
    }

    /// <summary>Name of a namespace from /run/netns, or null.</summary>
    public string? NameOf(ulong netNs) => _names.GetValueOrDefault(netNs);

    /// <summary>Resolves a /run/netns name, a decimal id, or "net:[id]".</summary>
    public bool TryResolve(string idOrName, out ulong netNs)
    {
        if (_byName.TryGetValue(idOrName, out netNs))
        {
            return true;
        }
        if (ulong.TryParse(idOrName, NumberStyles.None, CultureInfo.InvariantCulture, out netNs))
        {
            return true;
        }
        Span<byte> utf8 = stackalloc byte[64];
        return System.Text.Encoding.UTF8.TryGetBytes(idOrName, utf8, out int n) && TryParseLink(utf8[..n], "net:["u8, out netNs);
    }

    /// <summary>The namespace this process runs in; 0 if /proc is unreadable.</summary>
    public static ulong Current => TryGetOf(Environment.ProcessId, out ulong ns) == 0 ? ns : 0;

    /// <summary>Namespace of a process via readlink /proc/PID/ns/net; returns 0 or -errno (ENOENT when it exited, EACCES when not ours).</summary>
    public static int TryGetOf(int pid, out ulong netNs)
    {
        Span<byte> path = stackalloc byte[48];
        Span<byte> link = stackalloc byte[64];
        int n = ProcNative.ReadLink(new ProcPath(path).Add("/proc/"u8).Add(pid).Add("/ns/net"u8).Terminated(), link);
        if (n < 0)
        {
            netNs = 0;
            return n;
        }
        return TryParseLink(link[..n], "net:["u8, out netNs) ? 0 : -Errno.ENOENT;
    }

    /// <summary>Parses "prefix[123]" links such as "net:[4026531840]" or "socket:[12345]".</summary>
    public static bool TryParseLink(ReadOnlySpan<byte> link, ReadOnlySpan<byte> prefix, out ulong inode)
    {
        inode = 0;
        if (!link.StartsWith(prefix) || link.Length < prefix.Length + 2 || link[^1] != (byte)']')
        {
            return false;
        }
        return ulong.TryParse(link[prefix.Length..^1], NumberStyles.None, CultureInfo.InvariantCulture, out inode);
    }
}
