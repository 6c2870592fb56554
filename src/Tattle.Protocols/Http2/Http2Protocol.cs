using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;

namespace Tattle.Protocols.Http2;

/// <summary>How parsing of a connection begins.</summary>
/// <param name="UpgradedRequest">The HTTP/1.1 request that asked for <c>Upgrade: h2c</c> and got its 101: it is
/// stream 1, half-closed by the client, answered on stream 1 in HTTP/2 (RFC 7540 section 3.2).</param>
/// <param name="AtConnectionStart">Whether the parser sees the connection from its first byte. When not (tracing
/// began mid-connection), the HPACK tables start unknown and fields naming their entries are left out.</param>
public sealed record Http2Start(HttpRequest? UpgradedRequest = null, bool AtConnectionStart = true);

/// <summary>HTTP/2 over cleartext TCP or TLS plaintext (RFC 9113): the probe and the parser factory.</summary>
public static class Http2Protocol
{
    public const string Name = "http2";

    /// <summary>The client connection preface (RFC 9113 section 3.4).</summary>
    public static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>The SETTINGS parameters a server's first frame may carry and still pass the probe.</summary>
    private const int MaxProbedSettings = 16;

    /// <summary>Consecutive frames the mid-connection heuristic wants to see whole before it claims a stream.</summary>
    private const int FramesToClaim = 2;

    /// <summary>Frames the mid-connection heuristic reads, looking for one that tells the direction, before it gives up.</summary>
    private const int MaxFramesProbed = 8;

    /// <summary>Parsers made from <see cref="Info"/> assume the connection's start (prior knowledge or TLS ALPN h2).</summary>
    public static ProtocolInfo Info { get; } = new(Name, Probe, (options, sink) => Create(options, sink, null))
    {
        Aliases = ["h2", "h2c", "grpc"],
        UpgradeTokens = ["h2c"],
        TakeOver = (options, sink, change) =>
            Create(options, sink, new Http2Start((change.Upgraded as HttpExchange)?.Request)),
    };

    public static Http2Parser Create(ParserOptions options, IMessageSink sink, Http2Start? start) =>
        new(options, sink, start ?? new Http2Start());

    /// <summary>
    /// The client preface means requests. A SETTINGS frame (not an ACK, stream 0, whole, plausible values) as a
    /// direction's first bytes means responses: RFC 9113 section 3.4 makes it the server's first frame.
    /// Otherwise, for a connection joined mid-way, <see cref="ProbeFrames"/> looks for frames.
    /// </summary>
    public static Detection Probe(ReadOnlySpan<byte> data, bool datagram, int localPort, int remotePort)
    {
        if (datagram)
        {
            return Detection.No;
        }
        if (data.Length < Preface.Length ? Preface.StartsWith(data) : data.StartsWith(Preface))
        {
            return data.Length < Preface.Length ? Detection.NeedMoreData : Detection.Request;
        }
        var settings = ProbeServerSettings(data);
        return settings == Detection.No ? ProbeFrames(data) : settings;
    }

    private static Detection ProbeServerSettings(ReadOnlySpan<byte> data)
    {
        if (data.Length < FrameHeader.Size)
        {
            // Three zero length bytes at most and then type 4: anything else is not a server's first SETTINGS.
            return IsSettingsPrefix(data) ? Detection.NeedMoreData : Detection.No;
        }
        var h = FrameHeader.Read(data);
        if (h.Type != FrameType.Settings || h.Has(FrameFlags.Ack) || !h.IsPlausible(MessageKind.Response, FrameHeader.DefaultMaxFrameSize)
            || h.Length > 6 * MaxProbedSettings)
        {
            return Detection.No;
        }
        if (data.Length < FrameHeader.Size + h.Length)
        {
            return Detection.NeedMoreData;
        }
        return SettingsArePlausible(data.Slice(FrameHeader.Size, h.Length)) ? Detection.Response : Detection.No;
    }

    private static bool IsSettingsPrefix(ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> zeroes = [0, 0, 0, 0];
        return data.Length switch
        {
            0 or 1 or 2 => data.IndexOfAnyExcept((byte)0) < 0,
            3 => data[0] == 0 && data[1] == 0,
            _ => data[0] == 0 && data[1] == 0 && data[2] % 6 == 0 && data[3] == (byte)FrameType.Settings
                && (data.Length < 5 || data[4] == 0) && (data.Length <= 5 || zeroes.StartsWith(data[5..])),
        };
    }

    /// <summary>Values RFC 9113 section 6.5.2 allows for the parameters it defines; others pass (section 6.5.2 ignores them).</summary>
    private static bool SettingsArePlausible(ReadOnlySpan<byte> payload)
    {
        for (int i = 0; i + 6 <= payload.Length; i += 6)
        {
            ushort id = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(payload[i..]);
            uint value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(payload[(i + 2)..]);
            bool ok = id switch
            {
                0 => false,
                2 => value <= 1,
                4 => value <= int.MaxValue,
                5 => value is >= FrameHeader.DefaultMaxFrameSize and <= FrameHeader.LargestFrameSize,
                8 or 9 => value <= 1,
                _ => true,
            };
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// For a direction joined mid-connection: <see cref="FramesToClaim"/> consecutive whole frames from the first
    /// byte, each a known type with the stream id, fixed length and flags RFC 9113 requires of it, and at least
    /// one that tells the direction: a header block opening with a request pseudo-header (:method, :path,
    /// :scheme, :authority from the static table) means requests, with :status means responses, and a
    /// PUSH_PROMISE or a HEADERS on an even stream means responses.
    /// </summary>
    /// <remarks>
    /// The risk is a false positive on another binary protocol whose bytes happen to form two such headers in a
    /// row; it is small (the first three bytes must be a length up to 16384 that exactly reaches the next header,
    /// the type byte at most 9 with only its defined flags, the reserved bit clear) and tests check it says No
    /// on HTTP/1, TLS and DNS bytes. Streams of DATA alone do not tell their direction and are not claimed.
    /// </remarks>
    public static Detection ProbeFrames(ReadOnlySpan<byte> data)
    {
        int frames = 0;
        var direction = Detection.NeedMoreData;
        int pos = 0;
        while (frames < MaxFramesProbed)
        {
            if (frames >= FramesToClaim && direction != Detection.NeedMoreData)
            {
                return direction;
            }
            var rest = data[pos..];
            if (rest.Length < FrameHeader.Size)
            {
                return CouldStartFrame(rest) ? Detection.NeedMoreData : Detection.No;
            }
            var h = FrameHeader.Read(rest);
            // Checked by a response's rules, which allow HEADERS on even streams: the direction is not known yet.
            if (!h.IsPlausible(MessageKind.Response, FrameHeader.DefaultMaxFrameSize))
            {
                return Detection.No;
            }
            if (rest.Length < FrameHeader.Size + h.Length)
            {
                return Detection.NeedMoreData;
            }
            var told = DirectionOf(h, rest.Slice(FrameHeader.Size, h.Length));
            if (told != Detection.NeedMoreData)
            {
                if (direction != Detection.NeedMoreData && direction != told)
                {
                    return Detection.No;
                }
                direction = told;
            }
            frames++;
            pos += FrameHeader.Size + h.Length;
        }
        // Frames that never tell their direction (DATA, WINDOW_UPDATE...) are not claimed.
        return Detection.No;
    }

    /// <summary>Whether the first bytes of a frame header, as far as they go, pass <see cref="FrameHeader.IsPlausible"/>.</summary>
    private static bool CouldStartFrame(ReadOnlySpan<byte> part)
    {
        if (part.Length >= 3 && ((part[0] << 16) | (part[1] << 8) | part[2]) > FrameHeader.DefaultMaxFrameSize)
        {
            return false;
        }
        if (part.Length >= 4 && part[3] > (byte)FrameType.Continuation)
        {
            return false;
        }
        if (part.Length >= 5 && (part[4] & ~FrameHeader.DefinedFlagsOf((FrameType)part[3])) != 0)
        {
            return false;
        }
        return part.Length < 6 || (part[5] & 0x80) == 0;
    }

    /// <summary>What one frame says of its sender: Request, Response, or NeedMoreData for "cannot tell".</summary>
    private static Detection DirectionOf(FrameHeader h, ReadOnlySpan<byte> payload)
    {
        if (h.Type == FrameType.PushPromise || (h.Type is FrameType.Headers or FrameType.Data && h.StreamId % 2 == 0))
        {
            return Detection.Response;
        }
        if (h.Type != FrameType.Headers)
        {
            return Detection.NeedMoreData;
        }
        int offset = (h.Has(FrameFlags.Padded) ? 1 : 0) + (h.Has(FrameFlags.Priority) ? 5 : 0);
        // Dynamic table size updates (001xxxxx) may open a block; the first field after them tells.
        while (offset < payload.Length && (payload[offset] & 0xe0) == 0x20)
        {
            offset++;
        }
        if (offset >= payload.Length)
        {
            return Detection.NeedMoreData;
        }
        byte b = payload[offset];
        // An indexed field (1xxxxxxx) or a literal with an indexed name (01xxxxxx, 0000xxxx, 0001xxxx) from the
        // static table: entries 1-7 are :authority, :method, :path and :scheme; 8-14 are :status.
        int index = (b & 0x80) != 0 ? b & 0x7f : (b & 0xc0) == 0x40 ? b & 0x3f : (b & 0xe0) == 0 ? b & 0x0f : 0;
        return index switch
        {
            >= 1 and <= 7 => Detection.Request,
            >= 8 and <= 14 => Detection.Response,
            _ => Detection.NeedMoreData,
        };
    }
}
