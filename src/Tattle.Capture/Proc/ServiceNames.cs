using System.Globalization;

namespace Tattle.Capture.Proc;

/// <summary>Port → service name from /etc/services ("5556/tcp" → "freeciv").</summary>
public sealed class ServiceNames
{
    private static readonly Lazy<ServiceNames> LazyDefault = new(() => Load("/etc/services"));
    private readonly Dictionary<int, string> _names;

    private ServiceNames(Dictionary<int, string> names) => _names = names;

    /// <summary>The host's /etc/services, read once; empty when the file is missing.</summary>
    public static ServiceNames Default => LazyDefault.Value;

    /// <summary>Number of (port, protocol) entries.</summary>
    public int Count => _names.Count;

    /// <summary>Reads a services(5) file; a missing or unreadable file gives an empty table.</summary>
    public static ServiceNames Load(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ServiceNames([]);
        }
    }

    /// <summary>Parses services(5) text: "name port/proto [aliases] [# comment]"; bad lines are skipped, first entry wins.</summary>
    public static ServiceNames Parse(string text)
    {
        var names = new Dictionary<int, string>();
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw;
            int hash = line.IndexOf('#');
            if (hash >= 0)
            {
                line = line[..hash];
            }
            line = line.Trim();
            int sep = line.IndexOfAny(' ', '\t');
            if (sep <= 0)
            {
                continue;
            }
            var name = line[..sep];
            var rest = line[sep..].TrimStart();
            int end = rest.IndexOfAny(' ', '\t');
            var portProto = end < 0 ? rest : rest[..end];
            int slash = portProto.IndexOf('/');
            if (slash <= 0 || !int.TryParse(portProto[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
            {
                continue;
            }
            var proto = portProto[(slash + 1)..];
            int key;
            if (proto.SequenceEqual("tcp"))
            {
                key = Key(port, udp: false);
            }
            else if (proto.SequenceEqual("udp"))
            {
                key = Key(port, udp: true);
            }
            else
            {
                continue;
            }
            names.TryAdd(key, name.ToString());
        }
        return new ServiceNames(names);
    }

    /// <summary>Service name of a port for a protocol ("tcp", "tcp6", "udp", "udp6"); null when unknown or port 0.</summary>
    public string? Lookup(int port, string protocol)
    {
        if (port <= 0)
        {
            return null;
        }
        bool udp = protocol.StartsWith("udp", StringComparison.Ordinal);
        bool tcp = protocol.StartsWith("tcp", StringComparison.Ordinal);
        if (!udp && !tcp)
        {
            return null;
        }
        return _names.GetValueOrDefault(Key(port, udp));
    }

    private static int Key(int port, bool udp) => (port << 1) | (udp ? 1 : 0);
}
