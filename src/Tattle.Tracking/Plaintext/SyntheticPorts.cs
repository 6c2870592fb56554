using Tattle.Capture.Events;

namespace Tattle.Tracking.Plaintext;

/// <summary>
/// Client ports for synthetic plaintext flows: above the host's ephemeral range, where connect() picks none and
/// Wireshark names no protocol, and unique among the open flows between the same two hosts and server port.
/// </summary>
/// <remarks>
/// The socket's own packets are in the same file, and Wireshark (4.0) keys a TCP conversation by addresses and
/// ports alone, not by interface: a second SYN on the same four numbers would start a conversation that swallows
/// the captured packets after it, so the flow's client port must differ from the socket's. It must not name a
/// protocol either: Wireshark tries the lower port's dissector first, and of its 574 TCP port registrations
/// (4.0, <c>tshark -G decodes</c>) 567 are below 28232 and 7 in 32768-60999 (34980 is EtherCAT, 57000 IRC), none
/// from 61000 up. So the ports come from 61000-65535, or from above the range's top when it was moved higher.
/// </remarks>
public sealed class SyntheticPorts
{
    /// <summary>Linux's default <c>net.ipv4.ip_local_port_range</c> ends here.</summary>
    public const int DefaultEphemeralLast = 60999;

    // Fewer free ports than this above a raised range: its top is ignored, a clash with a real socket being
    // likelier than with a neighbour flow.
    private const int MinimumPool = 256;

    private readonly HashSet<(NetAddress Server, NetAddress ClientHost, ushort Port)> _open = [];

    /// <param name="ephemeralLast">The last port of <c>net.ipv4.ip_local_port_range</c> on the traced host.</param>
    public SyntheticPorts(int ephemeralLast = DefaultEphemeralLast)
    {
        int first = Math.Max(ephemeralLast, DefaultEphemeralLast) + 1;
        First = 65536 - first >= MinimumPool ? first : DefaultEphemeralLast + 1;
    }

    /// <summary>The lowest port handed out; the highest is 65535.</summary>
    public int First { get; }

    private int Count => 65536 - First;

    /// <summary>A port of the range picked by <paramref name="seed"/>, held by nothing.</summary>
    public ushort Any(ulong seed) => (ushort)(First + (int)(seed % (ulong)Count));

    /// <summary>
    /// <paramref name="client"/> with a port no open flow from its host to <paramref name="server"/> holds, the
    /// search starting at <paramref name="seed"/> so each session tends to a port of its own; held until
    /// <see cref="Release"/>.
    /// </summary>
    public NetAddress Take(NetAddress client, NetAddress server, ulong seed)
    {
        var host = client with { Port = 0 };
        int start = (int)(seed % (ulong)Count);
        for (int i = 0; i < Count; i++)
        {
            var port = (ushort)(First + (start + i) % Count);
            if (_open.Add((server, host, port)))
            {
                return client with { Port = port };
            }
        }
        // Every port is held (thousands of sessions open to one server at once): share one, Wireshark merges two.
        return client with { Port = (ushort)(First + start) };
    }

    /// <summary>Frees the port of a client address <see cref="Take"/> gave, when its flow ends.</summary>
    public void Release(NetAddress client, NetAddress server) => _open.Remove((server, client with { Port = 0 }, client.Port));

    /// <summary>Ports above this host's ephemeral range (a namespace of its own starts with the default one).</summary>
    public static SyntheticPorts ForHost(string rangeFile = "/proc/sys/net/ipv4/ip_local_port_range")
    {
        try
        {
            return new SyntheticPorts(EphemeralLast(File.ReadAllText(rangeFile)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new SyntheticPorts();
        }
    }

    /// <summary>
    /// The top of a <c>net.ipv4.ip_local_port_range</c> file's two numbers ("32768\t60999\n"); the default when the
    /// text is not two ports.
    /// </summary>
    public static int EphemeralLast(ReadOnlySpan<char> text)
    {
        var parts = text.Trim();
        int gap = parts.IndexOfAny(" \t");
        return gap > 0 && int.TryParse(parts[(gap + 1)..].Trim(), out int last) && last is > 0 and <= 65535
            ? last
            : DefaultEphemeralLast;
    }
}
