using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;
using Tattle.Capture.Events;
using Tattle.Capture.Probes;
using Tattle.Protocols.Http1;
using Tattle.Records;
using Tattle.Tracking.Processes;

namespace Tattle.Tracking.Calls;

/// <summary>Formats a probed call's registers and captured bytes by its signature.</summary>
internal static class CallValues
{
    private const ushort AfUnix = 1;
    private const ushort AfInet = 2;
    private const ushort AfInet6 = 10;

    /// <summary>The value of argument <paramref name="index"/> (0-based).</summary>
    public static CallValue Argument(in CallEvent e, ReadOnlySpan<byte> slots, CallSignature signature, int index, bool redact)
    {
        var a = signature.Arguments[index];
        ulong reg = e.Args[index];
        if (!a.IsCaptured)
        {
            return Scalar(a.Type, reg);
        }
        int captured = e.Captured[index];
        var bytes = captured > 0 && (index + 1) * CallEvent.SlotBytes <= slots.Length ? slots.Slice(index * CallEvent.SlotBytes, captured) : default;
        if (reg == 0)
        {
            return new CallValue { Text = "NULL" };
        }
        switch (a.Type)
        {
            case ArgType.Str:
                string text = Text(bytes);
                return new CallValue { Text = redact ? ArgvRedactor.RedactText(text) : text, Truncated = captured >= CallEvent.SlotBytes - 1 };
            case ArgType.SockAddr:
                return new CallValue { Text = SocketAddress(bytes) ?? Pointer(reg).Text };
            default:
                long length = LengthOf(in e, a.LengthFrom);
                // A result longer than the buffer (zmq_recv's truncation) still shows only what the buffer holds.
                var shown = bytes[..(int)Math.Clamp(length, 0, bytes.Length)];
                string escaped = CEscapes.Escape(shown);
                return new CallValue { Text = redact ? ArgvRedactor.RedactText(escaped) : escaped, Truncated = length > shown.Length };
        }
    }

    /// <summary>The result, or null for void.</summary>
    public static CallValue? Result(in CallEvent e, CallSignature? signature) =>
        e.EntryOnly || signature?.Return == ArgType.Void ? null : Scalar(signature?.Return ?? ArgType.Long, e.Ret);

    /// <summary>Whether a result says failure: negative for signed integers, NULL for pointers.</summary>
    public static bool IsError(CallValue? ret, CallSignature? signature) => ret is { } r && (signature?.Return ?? ArgType.Long) switch
    {
        ArgType.Int or ArgType.Long => r.Signed < 0,
        ArgType.Ptr or ArgType.Str => r.Text == "NULL",
        _ => false,
    };

    /// <summary>A register shown as its type says.</summary>
    public static CallValue Scalar(ArgType type, ulong reg) => type switch
    {
        ArgType.Int => new CallValue { Signed = (int)(uint)reg },
        ArgType.UInt => new CallValue { Unsigned = (uint)reg },
        ArgType.Long => new CallValue { Signed = (long)reg },
        ArgType.ULong => new CallValue { Unsigned = reg },
        ArgType.Bool => new CallValue { Boolean = (uint)reg != 0 },
        _ => Pointer(reg),
    };

    private static CallValue Pointer(ulong reg) => new() { Text = reg == 0 ? "NULL" : "0x" + reg.ToString("x", CultureInfo.InvariantCulture) };

    private static long LengthOf(in CallEvent e, int from) => from switch
    {
        CallArgument.LengthFromResult => e.EntryOnly ? 0 : (long)e.Ret,
        >= 1 and <= CallEvent.MaxArguments => (long)e.Args[from - 1],
        _ => 0,
    };

    private static string Text(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return CEscapes.Escape(bytes);
        }
    }

    /// <summary>A struct sockaddr (in, in6, un) as address:port or a path; null when it is none of them.</summary>
    public static string? SocketAddress(ReadOnlySpan<byte> b)
    {
        if (b.Length < 2)
        {
            return null;
        }
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(b);
        switch (family)
        {
            case AfInet when b.Length >= 8:
                return $"{new IPAddress(b.Slice(4, 4))}:{BinaryPrimitives.ReadUInt16BigEndian(b[2..])}";
            case AfInet6 when b.Length >= 24:
                return $"[{new IPAddress(b.Slice(8, 16))}]:{BinaryPrimitives.ReadUInt16BigEndian(b[2..])}";
            case AfUnix:
                var path = b[2..];
                int nul = path.IndexOf((byte)0);
                bool abstractName = path.Length > 0 && path[0] == 0;
                if (abstractName)
                {
                    return "@" + Encoding.UTF8.GetString(path[1..]).TrimEnd('\0');
                }
                return Encoding.UTF8.GetString(nul >= 0 ? path[..nul] : path);
            default:
                return null;
        }
    }

    /// <summary>libcurl's string options whose value is shown (CURLOPT_*: 10000 + the option's number).</summary>
    private static readonly Dictionary<int, string> CurlStringOptions = new()
    {
        [10002] = "URL",
        [10004] = "PROXY",
        [10016] = "REFERER",
        [10018] = "USERAGENT",
        [10036] = "CUSTOMREQUEST",
        [10102] = "ACCEPT_ENCODING",
    };

    /// <summary>libcurl's string options that are secrets by definition: shown as REDACTED.</summary>
    private static readonly HashSet<int> CurlSecretOptions = [10005, 10006, 10015, 10022, 10173, 10174, 10220];

    /// <summary>CURLOPT_URL.</summary>
    public const int CurlOptUrl = 10002;

    /// <summary>
    /// curl_easy_setopt's value: the string for a string option, REDACTED for a secret one, a number for a long or
    /// curl_off_t option, else (data, callback and blob pointers) the address.
    /// </summary>
    public static CallValue CurlOption(int option, CallValue asString, ulong reg, bool redact)
    {
        if (redact && CurlSecretOptions.Contains(option))
        {
            return new CallValue { Text = HttpRedactor.Redacted };
        }
        if (CurlStringOptions.ContainsKey(option) || (!redact && CurlSecretOptions.Contains(option)))
        {
            return option == CurlOptUrl && redact && asString.Text is { } url ? asString with { Text = HttpRedactor.RedactUrl(url) } : asString;
        }
        // CURLOPTTYPE_LONG is 0 and CURLOPTTYPE_OFF_T 30000; OBJECTPOINT (10000), FUNCTIONPOINT (20000) and BLOB (40000) are addresses.
        return option is >= 10000 and < 30000 or >= 40000 and < 50000 ? Pointer(reg) : new CallValue { Signed = (long)reg };
    }
}
