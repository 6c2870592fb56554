using System.Text.Json;

namespace Tattle.Records.Json;

/// <summary>Field shapes several record types share: endpoints, string arrays, optional numbers.</summary>
public static class JsonFields
{
    public static void WriteEndpoint(Utf8JsonWriter w, JsonEncodedText name, Endpoint? ep)
    {
        // An endpoint that names nothing (a netlink socket's) is unknown, not an empty object.
        if (ep is null || ep is { Addr: null, Port: null, Path: null, Host: null })
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartObject(name);
        if (ep.Path is not null)
        {
            w.WriteString(JsonNames.Path, ep.Path);
        }
        else
        {
            if (ep.Addr is not null)
            {
                RecurringStrings.Write(w, JsonNames.Addr, ep.Addr);
            }
            if (ep.Port is { } port)
            {
                w.WriteNumber(JsonNames.Port, port);
            }
        }
        if (ep.Host is not null)
        {
            RecurringStrings.Write(w, JsonNames.Host, ep.Host);
            if (ep.HostFrom is not null)
            {
                RecurringStrings.Write(w, JsonNames.HostFrom, ep.HostFrom);
            }
        }
        w.WriteEndObject();
    }

    public static void WriteStrings(Utf8JsonWriter w, JsonEncodedText name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }
        w.WriteEndArray();
    }

    /// <summary>The number, or null: the schema lists the field either way.</summary>
    public static void WriteOptional(Utf8JsonWriter w, JsonEncodedText name, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>Milliseconds to the microsecond, or null.</summary>
    public static void WriteMilliseconds(Utf8JsonWriter w, JsonEncodedText name, double? ms)
    {
        if (ms is not { } v)
        {
            w.WriteNull(name);
            return;
        }
        // Math.Round(v, 3) scales by 1000 and rounds the same way, and a value of at most 15 significant digits
        // is its own shortest round-trip form: the digits written by hand are what WriteNumber(double) would write,
        // without its general float formatting (4 % of tattle's CPU under load, one latency per record).
        double micros = Math.Round(v * 1000);
        if (!(micros >= 0 && micros < 1e14))
        {
            w.WriteNumber(name, Math.Round(v, 3));
            return;
        }
        Span<byte> text = stackalloc byte[24];
        long whole = (long)micros / 1000, fraction = (long)micros % 1000;
        whole.TryFormat(text, out int n, default, System.Globalization.CultureInfo.InvariantCulture);
        if (fraction != 0)
        {
            text[n++] = (byte)'.';
            text[n++] = (byte)('0' + (fraction / 100));
            fraction %= 100;
            if (fraction != 0)
            {
                text[n++] = (byte)('0' + (fraction / 10));
                fraction %= 10;
                if (fraction != 0)
                {
                    text[n++] = (byte)('0' + fraction);
                }
            }
        }
        w.WritePropertyName(name);
        w.WriteRawValue(text[..n], skipInputValidation: true);
    }
}
