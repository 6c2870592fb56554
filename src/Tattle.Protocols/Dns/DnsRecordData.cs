using System.Buffers.Binary;
using System.Net;
using System.Runtime.CompilerServices;
using Tattle.Protocols.Http1;

namespace Tattle.Protocols.Dns;

/// <summary>
/// Turns a record's RDATA into the text a zone file would show (RFC 1035 §5.1): "10.1.2.3", "10 5 8080 host",
/// "1 . alpn=h2,h3 ipv4hint=10.1.2.3". Data a type's layout does not fit, and types without a layout here, use the
/// generic form of RFC 3597 §5 ("\# 4 0a010203").
/// </summary>
internal static class DnsRecordData
{
    // Bound the text one record may cost: a 64 KiB TXT record would otherwise become a 64 KiB string.
    private const int MaxHexBytes = 64;
    private const int MaxTextBytes = 1024;
    private const string More = "...";

    /// <summary>The RDATA at <paramref name="start"/> (<paramref name="length"/> bytes, already bounds-checked) as text.</summary>
    public static string Format(ReadOnlySpan<byte> message, int start, int length, ushort type, DnsNameCache names)
    {
        // Names inside RDATA may point back into the message but must end inside the RDATA.
        var bounded = message[..(start + length)];
        var rdata = bounded[start..];
        string? text = type switch
        {
            DnsCodes.A when length == 4 => IPv4(rdata),
            DnsCodes.Aaaa when length == 16 => IPv6(rdata),
            DnsCodes.Ns or DnsCodes.Cname or DnsCodes.Ptr or DnsCodes.Dname => NameOnly(bounded, start, names),
            DnsCodes.Mx when length > 2 => PreferenceAndName(bounded, start, names),
            DnsCodes.Srv when length > 6 => Srv(bounded, start, names),
            DnsCodes.Soa => Soa(bounded, start, names),
            DnsCodes.Txt => Txt(rdata),
            DnsCodes.Svcb or DnsCodes.Https when length > 2 => Svcb(bounded, start, names),
            _ => null,
        };
        return text ?? Generic(rdata);
    }

    /// <summary>RFC 3597 §5: "\# length hex", the hex cut after 64 bytes.</summary>
    public static string Generic(ReadOnlySpan<byte> rdata)
    {
        if (rdata.IsEmpty)
        {
            return "\\# 0";
        }
        var shown = rdata.Length > MaxHexBytes ? rdata[..MaxHexBytes] : rdata;
        return $"\\# {rdata.Length} {Convert.ToHexStringLower(shown)}{(shown.Length < rdata.Length ? More : "")}";
    }

    // A resolver hands out the same few addresses again and again: the text is shared as names are.
    [SkipLocalsInit]
    private static string IPv4(ReadOnlySpan<byte> a)
    {
        Span<byte> text = stackalloc byte[15];
        int n = 0;
        for (int i = 0; i < 4; i++)
        {
            if (i > 0)
            {
                text[n++] = (byte)'.';
            }
            a[i].TryFormat(text[n..], out int written);
            n += written;
        }
        return HttpStrings.Recent(text[..n]);
    }

    /// <summary>The last IPv6 addresses formatted on this thread, by their low bits: formatting one takes an IPAddress.</summary>
    [ThreadStatic]
    private static (UInt128 Address, string? Text)[]? t_ipv6;

    private static string IPv6(ReadOnlySpan<byte> a)
    {
        var address = BinaryPrimitives.ReadUInt128BigEndian(a);
        var recent = t_ipv6 ??= new (UInt128, string?)[16];
        ref var slot = ref recent[(int)(ulong)address & (recent.Length - 1)];
        if (slot.Text is null || slot.Address != address)
        {
            slot = (address, new IPAddress(a).ToString());
        }
        return slot.Text!;
    }

    private static string? NameOnly(ReadOnlySpan<byte> message, int start, DnsNameCache names)
    {
        string? name = names.Read(message, start, out int end);
        return end == message.Length ? name : null;
    }

    private static string? PreferenceAndName(ReadOnlySpan<byte> message, int start, DnsNameCache names)
    {
        ushort preference = BinaryPrimitives.ReadUInt16BigEndian(message[start..]);
        string? name = names.Read(message, start + 2, out int end);
        return end == message.Length ? $"{preference} {name}" : null;
    }

    // RFC 2782: priority, weight, port, target.
    private static string? Srv(ReadOnlySpan<byte> message, int start, DnsNameCache names)
    {
        var fixedPart = message[start..];
        ushort priority = BinaryPrimitives.ReadUInt16BigEndian(fixedPart);
        ushort weight = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[2..]);
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[4..]);
        string? target = names.Read(message, start + 6, out int end);
        return end == message.Length ? $"{priority} {weight} {port} {target}" : null;
    }

    // RFC 1035 §3.3.13: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM.
    private static string? Soa(ReadOnlySpan<byte> message, int start, DnsNameCache names)
    {
        string? mname = names.Read(message, start, out int p);
        if (mname is null)
        {
            return null;
        }
        string? rname = names.Read(message, p, out p);
        if (rname is null || message.Length - p != 20)
        {
            return null;
        }
        var n = message[p..];
        return $"{mname} {rname} {BinaryPrimitives.ReadUInt32BigEndian(n)} {BinaryPrimitives.ReadUInt32BigEndian(n[4..])} " +
            $"{BinaryPrimitives.ReadUInt32BigEndian(n[8..])} {BinaryPrimitives.ReadUInt32BigEndian(n[12..])} " +
            $"{BinaryPrimitives.ReadUInt32BigEndian(n[16..])}";
    }

    // RFC 1035 §3.3.14: one or more <character-string>s, each shown quoted.
    private static string? Txt(ReadOnlySpan<byte> rdata)
    {
        var text = new DefaultInterpolatedStringHandler(0, 0, null, stackalloc char[256]);
        int p = 0;
        int shown = 0;
        while (p < rdata.Length)
        {
            int len = rdata[p];
            if (p + 1 + len > rdata.Length)
            {
                text.ToStringAndClear();
                return null;
            }
            if (shown >= MaxTextBytes)
            {
                text.AppendLiteral(" " + More);
                break;
            }
            if (p > 0)
            {
                text.AppendLiteral(" ");
            }
            text.AppendLiteral("\"");
            AppendEscaped(ref text, rdata.Slice(p + 1, len), '"');
            text.AppendLiteral("\"");
            shown += len;
            p += 1 + len;
        }
        return text.ToStringAndClear();
    }

    // RFC 9460 §2.2: SvcPriority, TargetName, then SvcParams (key, length, value) in presentation form (§2.1, §7).
    private static string? Svcb(ReadOnlySpan<byte> message, int start, DnsNameCache names)
    {
        ushort priority = BinaryPrimitives.ReadUInt16BigEndian(message[start..]);
        string? target = names.Read(message, start + 2, out int p);
        if (target is null)
        {
            return null;
        }
        var text = new DefaultInterpolatedStringHandler(0, 0, null, stackalloc char[256]);
        text.AppendFormatted(priority);
        text.AppendLiteral(" ");
        text.AppendLiteral(target);
        while (p < message.Length)
        {
            if (message.Length - p < 4)
            {
                text.ToStringAndClear();
                return null;
            }
            ushort key = BinaryPrimitives.ReadUInt16BigEndian(message[p..]);
            int len = BinaryPrimitives.ReadUInt16BigEndian(message[(p + 2)..]);
            p += 4;
            if (message.Length - p < len)
            {
                text.ToStringAndClear();
                return null;
            }
            text.AppendLiteral(" ");
            AppendSvcParam(ref text, key, message.Slice(p, len));
            p += len;
        }
        return text.ToStringAndClear();
    }

    private static void AppendSvcParam(ref DefaultInterpolatedStringHandler text, ushort key, ReadOnlySpan<byte> value)
    {
        string? name = SvcParamName(key);
        if (name is null)
        {
            text.AppendLiteral("key");
            text.AppendFormatted(key);
        }
        else
        {
            text.AppendLiteral(name);
        }
        if (value.IsEmpty)
        {
            return;
        }
        text.AppendLiteral("=");
        bool ok = key switch
        {
            0 => AppendList(ref text, value, 2, static (ref t, v) => t.AppendLiteral(SvcParamName(BinaryPrimitives.ReadUInt16BigEndian(v)) ?? "key" + BinaryPrimitives.ReadUInt16BigEndian(v))),
            1 => AppendAlpn(ref text, value),
            3 when value.Length == 2 => Append(ref text, BinaryPrimitives.ReadUInt16BigEndian(value)),
            4 => AppendList(ref text, value, 4, static (ref t, v) => t.AppendLiteral(IPv4(v))),
            5 => Append(ref text, Convert.ToBase64String(value)),
            6 => AppendList(ref text, value, 16, static (ref t, v) => t.AppendLiteral(new IPAddress(v).ToString())),
            7 => AppendEscaped(ref text, value, ','),
            _ => false,
        };
        if (!ok)
        {
            text.AppendLiteral(Convert.ToHexStringLower(value.Length > MaxHexBytes ? value[..MaxHexBytes] : value));
        }
    }

    // RFC 9460 §14.3.2 registry; 7 is dohpath (RFC 9461), 8 ohttp (RFC 9540).
    private static string? SvcParamName(ushort key) => key switch
    {
        0 => "mandatory",
        1 => "alpn",
        2 => "no-default-alpn",
        3 => "port",
        4 => "ipv4hint",
        5 => "ech",
        6 => "ipv6hint",
        7 => "dohpath",
        8 => "ohttp",
        _ => null,
    };

    private delegate void ItemWriter(ref DefaultInterpolatedStringHandler text, ReadOnlySpan<byte> item);

    private static bool AppendList(ref DefaultInterpolatedStringHandler text, ReadOnlySpan<byte> value, int size, ItemWriter write)
    {
        if (value.Length % size != 0)
        {
            return false;
        }
        for (int i = 0; i < value.Length; i += size)
        {
            if (i > 0)
            {
                text.AppendLiteral(",");
            }
            write(ref text, value.Slice(i, size));
        }
        return true;
    }

    // RFC 9460 §7.1.1: alpn-ids, each a length-prefixed string; a comma inside one is escaped.
    private static bool AppendAlpn(ref DefaultInterpolatedStringHandler text, ReadOnlySpan<byte> value)
    {
        for (int p = 0; p < value.Length;)
        {
            int len = value[p];
            if (len == 0 || p + 1 + len > value.Length)
            {
                return false;
            }
            if (p > 0)
            {
                text.AppendLiteral(",");
            }
            AppendEscaped(ref text, value.Slice(p + 1, len), ',');
            p += 1 + len;
        }
        return true;
    }

    private static bool Append<T>(ref DefaultInterpolatedStringHandler text, T value)
    {
        text.AppendFormatted(value);
        return true;
    }

    /// <summary>Printable ASCII as is; backslash and <paramref name="special"/> escaped; other bytes as \DDD.</summary>
    private static bool AppendEscaped(ref DefaultInterpolatedStringHandler text, ReadOnlySpan<byte> bytes, char special)
    {
        Span<char> escape = stackalloc char[4];
        escape[0] = '\\';
        foreach (byte b in bytes)
        {
            if (b == '\\' || b == special)
            {
                escape[1] = (char)b;
                text.AppendFormatted(escape[..2]);
            }
            else if (b is >= 0x20 and < 0x7F)
            {
                text.AppendFormatted((char)b);
            }
            else
            {
                escape[1] = (char)('0' + b / 100);
                escape[2] = (char)('0' + b / 10 % 10);
                escape[3] = (char)('0' + b % 10);
                text.AppendFormatted(escape);
            }
        }
        return true;
    }
}
