using System.Text;
using System.Text.Json;
using Tattle.Records;

namespace Tattle.Output.JsonLines;

/// <summary>The JSON form of parsed protocol messages: http, dns, tls.handshake (see docs/json-schema.md).</summary>
internal static class MessageJson
{
    public static void Write(Utf8JsonWriter w, MessageRecord m)
    {
        RecurringStrings.Write(w, JsonNames.Conn, m.Conn);
        RecurringStrings.Write(w, JsonNames.Role, m.Role);
        RecordJson.WriteEndpoint(w, JsonNames.Remote, m.Remote);
        switch (m)
        {
            case HttpRecord h:
                WriteHttp(w, h);
                break;
            case DnsRecord d:
                w.WriteString(JsonNames.Query, d.Query);
                w.WriteString(JsonNames.Qtype, d.QType);
                w.WriteString(JsonNames.Rcode, d.Rcode);
                w.WriteNumber(JsonNames.Id, d.Id);
                w.WriteString(JsonNames.Transport, d.Transport);
                w.WriteBoolean(JsonNames.Truncated, d.Truncated);
                w.WriteStartArray(JsonNames.Answers);
                foreach (var a in d.Answers)
                {
                    w.WriteStartObject();
                    w.WriteString(JsonNames.Name, a.Name);
                    w.WriteString(JsonNames.Type, a.Type);
                    w.WriteNumber(JsonNames.Ttl, a.Ttl);
                    w.WriteString(JsonNames.Data, a.Data);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                break;
            case TlsHandshakeRecord t:
                w.WriteString(JsonNames.Sni, t.Sni);
                w.WriteString(JsonNames.Alpn, t.Alpn);
                RecordJson.WriteStrings(w, JsonNames.AlpnOffered, t.AlpnOffered);
                RecurringStrings.Write(w, JsonNames.Version, t.Version);
                w.WriteBoolean(JsonNames.HelloRetry, t.HelloRetry);
                break;
        }
        WriteLatency(w, m.LatencyMs);
    }

    private static void WriteHttp(Utf8JsonWriter w, HttpRecord h)
    {
        w.WriteBoolean(JsonNames.Tls, h.Tls);
        if (h.Tls)
        {
            w.WriteString(JsonNames.Sni, h.Sni);
        }
        if (h.TlsSession is not null)
        {
            w.WriteString(JsonNames.TlsSession, h.TlsSession);
        }
        RecurringStrings.Write(w, JsonNames.Method, h.Method);
        w.WriteString(JsonNames.Path, h.Path);
        RecurringStrings.Write(w, JsonNames.Host, h.Host);
        RecurringStrings.Write(w, JsonNames.Version, h.Version);
        if (h.Status is { } status)
        {
            w.WriteNumber(JsonNames.Status, status);
        }
        else
        {
            w.WriteNull(JsonNames.Status);
        }
        WriteOptional(w, JsonNames.ReqBytes, h.ReqBytes);
        WriteOptional(w, JsonNames.RespBytes, h.RespBytes);
        WriteHeaders(w, JsonNames.ReqHeaders, h.ReqHeaders);
        WriteHeaders(w, JsonNames.RespHeaders, h.RespHeaders);
        if (!h.ReqBody.IsEmpty)
        {
            w.WriteBase64String(JsonNames.ReqBodyB64, h.ReqBody.Span);
        }
        if (!h.RespBody.IsEmpty)
        {
            w.WriteBase64String(JsonNames.RespBodyB64, h.RespBody.Span);
        }
        if (h.ReqContentEncoding is not null)
        {
            w.WriteString(JsonNames.ReqContentEncoding, h.ReqContentEncoding);
        }
        if (h.RespContentEncoding is not null)
        {
            w.WriteString(JsonNames.RespContentEncoding, h.RespContentEncoding);
        }
        if (h.Upgrade is not null)
        {
            w.WriteString(JsonNames.Upgrade, h.Upgrade);
        }
        if (h.Interim.Count > 0)
        {
            w.WriteStartArray(JsonNames.Interim);
            foreach (int code in h.Interim)
            {
                w.WriteNumberValue(code);
            }
            w.WriteEndArray();
        }
        if (h.UnseenBytes > 0)
        {
            w.WriteNumber(JsonNames.UnseenBytes, h.UnseenBytes);
        }
        if (h.Trailers is not null)
        {
            WriteHeaders(w, JsonNames.Trailers, h.Trailers);
        }
        w.WriteBoolean(JsonNames.Truncated, h.Truncated);
    }

    /// <summary>Headers as an object in wire order; a repeated name's values are joined with ", " (RFC 9110 §5.3).</summary>
    /// <remarks>On the hot path of every http record: no allocation for a record's array unless a name repeats.</remarks>
    private static void WriteHeaders(Utf8JsonWriter w, JsonEncodedText name, IReadOnlyList<KeyValuePair<string, string>>? headers)
    {
        if (headers is null)
        {
            w.WriteNull(name);
            return;
        }
        // Records carry arrays: as a span, the name comparisons below are plain loops, not interface calls.
        ReadOnlySpan<KeyValuePair<string, string>> all = headers as KeyValuePair<string, string>[] ?? [.. headers];
        w.WriteStartObject(name);
        for (int i = 0; i < all.Length; i++)
        {
            string key = all[i].Key;
            if (IndexOfName(all[..i], key) >= 0)
            {
                continue; // written with its first occurrence
            }
            string value = all[i].Value;
            if (IndexOfName(all[(i + 1)..], key) >= 0)
            {
                var joined = new StringBuilder(value);
                foreach (var (otherKey, otherValue) in all[(i + 1)..])
                {
                    if (string.Equals(otherKey, key, StringComparison.OrdinalIgnoreCase))
                    {
                        joined.Append(", ").Append(otherValue);
                    }
                }
                value = joined.ToString();
            }
            RecurringStrings.Write(w, HeaderName(key), value);
        }
        w.WriteEndObject();
    }

    private static int IndexOfName(ReadOnlySpan<KeyValuePair<string, string>> headers, string key)
    {
        for (int j = 0; j < headers.Length; j++)
        {
            if (string.Equals(headers[j].Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return j;
            }
        }
        return -1;
    }

    [ThreadStatic]
    private static Dictionary<string, JsonEncodedText>? t_names;

    /// <summary>
    /// Header names come interned from the parser ("Content-Type"): lower-case and encode each spelling once per
    /// thread, for a bounded number of spellings.
    /// </summary>
    private static JsonEncodedText HeaderName(string key)
    {
        var cache = t_names ??= new Dictionary<string, JsonEncodedText>(StringComparer.Ordinal);
        if (cache.TryGetValue(key, out var name))
        {
            return name;
        }
        name = JsonEncodedText.Encode(key.AsSpan().ContainsAnyInRange('A', 'Z') ? key.ToLowerInvariant() : key);
        if (cache.Count < 1024)
        {
            cache[key] = name;
        }
        return name;
    }

    private static void WriteOptional(Utf8JsonWriter w, JsonEncodedText name, long? value)
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

    private static void WriteLatency(Utf8JsonWriter w, double? latencyMs)
    {
        if (latencyMs is { } ms)
        {
            w.WriteNumber(JsonNames.LatencyMs, Math.Round(ms, 3));
        }
        else
        {
            w.WriteNull(JsonNames.LatencyMs);
        }
    }
}
