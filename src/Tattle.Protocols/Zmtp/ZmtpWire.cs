using System.Buffers.Binary;
using System.Text;
using Tattle.Protocols.Tls;

namespace Tattle.Protocols.Zmtp;

/// <summary>The commands of ZMTP 3.0 and 3.1 (RFC 23, RFC 37) and the mechanisms' (RFC 24 PLAIN, RFC 26 CURVE).</summary>
public enum ZmtpCommand : byte
{
    Unknown,
    Ready,
    Error,
    Hello,
    Welcome,
    Initiate,
    Message,
    Subscribe,
    Cancel,
    Ping,
    Pong,
}

/// <summary>The greeting's layout, frame headers, command names and metadata, read without throwing.</summary>
internal static class ZmtpWire
{
    public const byte SignatureStart = 0xFF;
    public const byte SignatureEnd = 0x7F;
    public const int SignatureLength = 10;
    public const int MajorOffset = 10;
    public const int MinorOffset = 11;
    public const int MechanismOffset = 12;
    public const int MechanismLength = 20;
    public const int AsServerOffset = 32;
    public const int GreetingLength = 64;

    public const byte More = 0x01;
    public const byte Long = 0x02;
    public const byte Command = 0x04;

    /// <summary>libzmq sends sizes up to 255 short; a long size below that, or beyond 1 GiB, is taken for noise when resyncing.</summary>
    private const long MaxPlausibleFrame = 1L << 30;

    /// <summary>A greeting's mechanism field: upper-case letters, digits, '-' or '_', then NUL padding.</summary>
    public static bool IsMechanismField(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        if (end < 0)
        {
            end = field.Length;
        }
        if (end == 0 || field[end..].ContainsAnyExcept((byte)0))
        {
            return false;
        }
        foreach (byte b in field[..end])
        {
            if (!(b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The mechanism's name, the three of the RFCs without a new string.</summary>
    public static string Mechanism(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        var name = end < 0 ? field : field[..end];
        return name switch
        {
            _ when name.SequenceEqual("NULL"u8) => "NULL",
            _ when name.SequenceEqual("PLAIN"u8) => "PLAIN",
            _ when name.SequenceEqual("CURVE"u8) => "CURVE",
            _ => TlsText.Printable(name),
        };
    }

    private static readonly string[] SocketTypes =
    [
        "PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB", "STREAM",
        "SERVER", "CLIENT", "RADIO", "DISH", "GATHER", "SCATTER", "DGRAM", "PEER", "CHANNEL",
    ];

    /// <summary>A Socket-Type property's value: the RFCs' names shared, anything else printable.</summary>
    public static string SocketType(ReadOnlySpan<byte> value)
    {
        foreach (string known in SocketTypes)
        {
            if (value.Length == known.Length && Ascii.EqualsIgnoreCase(value, known))
            {
                return known;
            }
        }
        return TlsText.Printable(value[..Math.Min(value.Length, 32)]);
    }

    /// <summary>The command a body starts with (name-size, name), and where its data begins.</summary>
    /// <remarks>
    /// libzmq up to 4.3.4 writes ERROR's name as <c>"\x05ERROR"</c> in C, where the escape swallows the E: its
    /// ERROR commands start 0x5E "RROR". They are read as ERROR, as that is what every deployed libzmq sends.
    /// </remarks>
    public static ZmtpCommand CommandOf(ReadOnlySpan<byte> body, out int dataStart)
    {
        dataStart = 0;
        if (body.IsEmpty)
        {
            return ZmtpCommand.Unknown;
        }
        if (body.StartsWith("\x5eRROR"u8))
        {
            dataStart = 5;
            return ZmtpCommand.Error;
        }
        int length = body[0];
        if (length == 0 || length >= body.Length)
        {
            return ZmtpCommand.Unknown;
        }
        dataStart = 1 + length;
        var name = body.Slice(1, length);
        return name switch
        {
            _ when name.SequenceEqual("READY"u8) => ZmtpCommand.Ready,
            _ when name.SequenceEqual("ERROR"u8) => ZmtpCommand.Error,
            _ when name.SequenceEqual("HELLO"u8) => ZmtpCommand.Hello,
            _ when name.SequenceEqual("WELCOME"u8) => ZmtpCommand.Welcome,
            _ when name.SequenceEqual("INITIATE"u8) => ZmtpCommand.Initiate,
            _ when name.SequenceEqual("MESSAGE"u8) => ZmtpCommand.Message,
            _ when name.SequenceEqual("SUBSCRIBE"u8) => ZmtpCommand.Subscribe,
            _ when name.SequenceEqual("CANCEL"u8) => ZmtpCommand.Cancel,
            _ when name.SequenceEqual("PING"u8) => ZmtpCommand.Ping,
            _ when name.SequenceEqual("PONG"u8) => ZmtpCommand.Pong,
            _ => ZmtpCommand.Unknown,
        };
    }

    /// <summary>
    /// Reads a frame header (flags, 1- or 8-byte size) at the start of <paramref name="data"/>: false if the
    /// flags are not ZMTP's (reserved bits set, a command with MORE) or a size does not fit a long; true with
    /// <paramref name="headerLength"/> 0 when the header is not all there yet.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> data, out byte flags, out long size, out int headerLength)
    {
        size = 0;
        headerLength = 0;
        flags = data.IsEmpty ? (byte)0 : data[0];
        if ((flags & 0xF8) != 0 || (flags & (Command | More)) == (Command | More))
        {
            return false;
        }
        int length = (flags & Long) != 0 ? 9 : 2;
        if (data.Length < length)
        {
            return true;
        }
        if (length == 2)
        {
            size = data[1];
        }
        else
        {
            ulong wide = BinaryPrimitives.ReadUInt64BigEndian(data[1..]);
            if (wide > long.MaxValue)
            {
                return false;
            }
            size = (long)wide;
        }
        headerLength = length;
        return true;
    }

    /// <summary>The value of a metadata property (RFC 23 §"The Metadata"), found case-insensitively, or false.</summary>
    public static bool TryFindProperty(ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        value = default;
        int p = 0;
        while (p < metadata.Length)
        {
            int nameLength = metadata[p++];
            if (nameLength == 0 || metadata.Length - p < nameLength + 4)
            {
                return false;
            }
            var n = metadata.Slice(p, nameLength);
            p += nameLength;
            uint valueLength = BinaryPrimitives.ReadUInt32BigEndian(metadata[p..]);
            p += 4;
            if (valueLength > (uint)(metadata.Length - p))
            {
                return false;
            }
            if (Ascii.EqualsIgnoreCase(n, name))
            {
                value = metadata.Slice(p, (int)valueLength);
                return true;
            }
            p += (int)valueLength;
        }
        return false;
    }

    /// <summary>
    /// Whether frames plausibly start at <paramref name="at"/>: a command frame with a known name, or a chain of
    /// frame headers that ends a message, either exactly where the data ends or across two whole frames. Used to
    /// resync after a gap, where nothing in ZMTP marks a frame start.
    /// </summary>
    public static bool IsFrameStart(ReadOnlySpan<byte> data, int at)
    {
        int frames = 0;
        int ends = 0;
        int p = at;
        bool ended = false;
        while (true)
        {
            if (p == data.Length)
            {
                return frames > 0 && ended;
            }
            if (!TryReadHeader(data[p..], out byte flags, out long size, out int headerLength))
            {
                return false;
            }
            if (headerLength == 0)
            {
                return frames >= 2 && ends > 0;
            }
            if ((flags & Long) != 0 && (size < 256 || size > MaxPlausibleFrame))
            {
                return false;
            }
            if ((flags & Command) != 0)
            {
                var body = data[(p + headerLength)..];
                body = body[..(int)Math.Min(body.Length, size)];
                if (body.IsEmpty || (body[0] > 0 && body.Length < 1 + body[0] && !body.StartsWith("\x5eRROR"u8)))
                {
                    return frames >= 2 && ends > 0;
                }
                return size >= 1 + body[0] && CommandOf(body, out _) != ZmtpCommand.Unknown;
            }
            if (size > data.Length - p - headerLength)
            {
                return frames >= 2 && ends > 0;
            }
            p += headerLength + (int)size;
            frames++;
            ended = (flags & More) == 0;
            ends += ended ? 1 : 0;
            if (frames >= 4 && ends >= 2)
            {
                return true;
            }
        }
    }

    /// <summary>Printable text for traced bytes (topics, identities, previews): ASCII as is, the rest as \xHH.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes) => TlsText.Printable(bytes);
}
