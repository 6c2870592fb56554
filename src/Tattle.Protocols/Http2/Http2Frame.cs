using System.Buffers.Binary;
using Tattle.Protocols.Common;

namespace Tattle.Protocols.Http2;

/// <summary>The frame types of RFC 9113 section 6.</summary>
internal enum FrameType : byte
{
    Data = 0x0,
    Headers = 0x1,
    Priority = 0x2,
    RstStream = 0x3,
    Settings = 0x4,
    PushPromise = 0x5,
    Ping = 0x6,
    GoAway = 0x7,
    WindowUpdate = 0x8,
    Continuation = 0x9,
}

/// <summary>Frame flags (RFC 9113 section 6); their meaning depends on the type.</summary>
internal static class FrameFlags
{
    public const byte EndStream = 0x1;
    public const byte Ack = 0x1;
    public const byte EndHeaders = 0x4;
    public const byte Padded = 0x8;
    public const byte Priority = 0x20;
}

/// <summary>A frame's 9-byte header (RFC 9113 section 4.1).</summary>
internal readonly record struct FrameHeader(int Length, byte RawType, byte Flags, int StreamId, bool ReservedBit)
{
    public const int Size = 9;

    /// <summary>The default and smallest SETTINGS_MAX_FRAME_SIZE (RFC 9113 section 6.5.2).</summary>
    public const int DefaultMaxFrameSize = 16_384;

    /// <summary>The largest frame length the 24-bit field can say.</summary>
    public const int LargestFrameSize = (1 << 24) - 1;

    public FrameType Type => (FrameType)RawType;

    public bool IsKnownType => RawType <= (byte)FrameType.Continuation;

    public bool Has(byte flag) => (Flags & flag) != 0;

    public static FrameHeader Read(ReadOnlySpan<byte> data)
    {
        int length = (data[0] << 16) | (data[1] << 8) | data[2];
        uint stream = BinaryPrimitives.ReadUInt32BigEndian(data[5..]);
        return new FrameHeader(length, data[3], data[4], (int)(stream & 0x7fff_ffff), (stream & 0x8000_0000) != 0);
    }

    /// <summary>The flags RFC 9113 defines for a type; a sender leaves the others unset (section 4.1).</summary>
    public static byte DefinedFlagsOf(FrameType type) => type switch
    {
        FrameType.Data => FrameFlags.EndStream | FrameFlags.Padded,
        FrameType.Headers => FrameFlags.EndStream | FrameFlags.EndHeaders | FrameFlags.Padded | FrameFlags.Priority,
        FrameType.Settings or FrameType.Ping => FrameFlags.Ack,
        FrameType.PushPromise => FrameFlags.EndHeaders | FrameFlags.Padded,
        FrameType.Continuation => FrameFlags.EndHeaders,
        _ => 0,
    };

    /// <summary>
    /// Whether the header breaks a rule of RFC 9113 a peer would treat as a connection error: the stream id a
    /// type requires (zero or not), a fixed length, a length beyond <paramref name="maxFrameSize"/>, a
    /// PUSH_PROMISE from a client. Unknown types pass (section 5.5: they are ignored).
    /// </summary>
    public bool IsValid(MessageKind kind, int maxFrameSize)
    {
        if (Length > maxFrameSize)
        {
            return false;
        }
        if (!IsKnownType)
        {
            return true;
        }
        return Type switch
        {
            FrameType.Data or FrameType.Continuation => StreamId != 0,
            FrameType.Headers => StreamId != 0 && (kind == MessageKind.Response || StreamId % 2 == 1),
            FrameType.Priority => StreamId != 0 && Length == 5,
            FrameType.RstStream => StreamId != 0 && Length == 4,
            FrameType.Settings => StreamId == 0 && Length % 6 == 0 && (!Has(FrameFlags.Ack) || Length == 0),
            FrameType.PushPromise => StreamId != 0 && kind == MessageKind.Response && Length >= 4,
            FrameType.Ping => StreamId == 0 && Length == 8,
            FrameType.GoAway => StreamId == 0 && Length >= 8,
            FrameType.WindowUpdate => Length == 4,
            _ => true,
        };
    }

    /// <summary>
    /// A stricter test for finding frames in bytes of unknown position (resync, detection): a valid header of a
    /// known type, the reserved bit clear and no undefined flag set, as every sender writes them.
    /// </summary>
    public bool IsPlausible(MessageKind kind, int maxFrameSize) =>
        IsKnownType && !ReservedBit && (Flags & ~DefinedFlagsOf(Type)) == 0 && IsValid(kind, maxFrameSize);
}

/// <summary>The error codes of RFC 9113 section 7, by name.</summary>
internal static class Http2ErrorCodes
{
    private static readonly string[] Names =
    [
        "NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT", "STREAM_CLOSED",
        "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
    ];

    public static string Name(uint code) => code < Names.Length ? Names[code] : "0x" + code.ToString("x");
}

/// <summary>The SETTINGS parameters the parser acts on (RFC 9113 section 6.5.2).</summary>
internal static class SettingsIds
{
    public const ushort HeaderTableSize = 0x1;
    public const ushort MaxFrameSize = 0x5;
}
