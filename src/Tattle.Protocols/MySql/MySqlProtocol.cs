using Tattle.Protocols.Common;

namespace Tattle.Protocols.MySql;

/// <summary>The MySQL/MariaDB client/server protocol: how to recognise it and how to make a parser (see README.md).</summary>
public static class MySqlProtocol
{
    public const int Port = 3306;

    /// <summary>The protocol version of Handshake v10, the greeting every server since MySQL 3.21 sends.</summary>
    public const byte HandshakeV10 = 10;

    /// <summary>The longest server version string believed (MariaDB's are about 40 bytes).</summary>
    private const int MaxVersion = 128;

    public static ProtocolInfo Info { get; } = new("mysql", Probe, (options, sink) => new MySqlParser(options, sink))
    {
        Aliases = ["mariadb"],
    };

    /// <summary>
    /// The server speaks first: a packet with sequence id 0 holding protocol version 10 and a printable,
    /// NUL-terminated version string means responses. For a connection joined mid-way, a whole COM_QUERY packet
    /// (sequence 0, printable text) with port 3306 at an end means requests. Port 3306 alone claims nothing.
    /// </summary>
    public static Detection Probe(ReadOnlySpan<byte> data, bool datagram, int localPort, int remotePort)
    {
        if (datagram || data.IsEmpty)
        {
            return Detection.No;
        }
        if (data.Length < 5)
        {
            return MaybeGreeting(data) || MaybeQuery(data, localPort, remotePort) ? Detection.NeedMoreData : Detection.No;
        }
        int length = data[0] | data[1] << 8 | data[2] << 16;
        if (data[3] != 0 || length < 2)
        {
            return Detection.No;
        }
        if (data[4] == HandshakeV10)
        {
            var version = data[5..];
            int end = version.IndexOf((byte)0);
            if (end < 0)
            {
                return version.Length < MaxVersion && Printable(version) && version.Length < length - 1 ? Detection.NeedMoreData : Detection.No;
            }
            return end > 0 && end < MaxVersion && end + 1 < length && Printable(version[..end]) ? Detection.Response : Detection.No;
        }
        if (data[4] == MySqlParser.ComQuery && (localPort == Port || remotePort == Port) && length <= MySqlParser.MaxPacket)
        {
            if (data.Length < 4 + length)
            {
                return Printable(data[5..]) ? Detection.NeedMoreData : Detection.No;
            }
            return Printable(data.Slice(5, length - 1)) ? Detection.Request : Detection.No;
        }
        return Detection.No;
    }

    /// <summary>A greeting is short: its length's upper two bytes are 0, then sequence 0 and version 10.</summary>
    private static bool MaybeGreeting(ReadOnlySpan<byte> data) =>
        (data.Length < 2 || data[1] == 0) && (data.Length < 3 || data[2] == 0) && (data.Length < 4 || data[3] == 0);

    private static bool MaybeQuery(ReadOnlySpan<byte> data, int localPort, int remotePort) => localPort == Port || remotePort == Port;

    /// <summary>Text, tabs and line ends, and UTF-8 beyond ASCII; no other control bytes.</summary>
    private static bool Printable(ReadOnlySpan<byte> text)
    {
        foreach (byte b in text)
        {
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r') || b == 0x7F)
            {
                return false;
            }
        }
        return true;
    }
}
