using System.Text;
using System.Text.Json;
using Tattle.Records;

namespace Tattle.Output.JsonLines;

/// <summary>The JSON form of parsed protocol messages: http, dns, tls.handshake (see docs/json-schema.md).</summary>
internal static class MessageJson
{
    public static void Write(Utf8JsonWriter w, MessageRecord m)
    {
        w.WriteString("conn", m.Conn);
        w.WriteString("role", m.Role);
        RecordJson.WriteEndpoint(w, "remote", m.Remote);
        switch (m)
        {
            case HttpRecord h:
                WriteHttp(w, h);
                break;
            case DnsRecord d:
                w.WriteString("query", d.Query);
                w.WriteString("qtype", d.QType);
                w.WriteString("rcode", d.Rcode);
                w.WriteNumber("id", d.Id);
                w.WriteString("transport", d.Transport);
                if (d.Truncated)
                {
                    w.WriteBoolean("truncated", true);
                }
                w.WriteStartArray("answers");
                foreach (var a in d.Answers)
                {
                    w.WriteStartObject();
                    w.WriteString("name", a.Name);
                    w.WriteString("type", a.Type);
                    w.WriteNumber("ttl", a.Ttl);
                    w.WriteString("data", a.Data);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                break;
            case TlsHandshakeRecord t:
                w.WriteString("sni", t.Sni);
                w.WriteString("alpn", t.Alpn);
                RecordJson.WriteStrings(w, "alpn_offered", t.AlpnOffered);
                w.WriteString("version", t.Version);
                if (t.HelloRetry)
                {
                    w.WriteBoolean("hello_retry", true);
                }
                break;
        }
        WriteLatency(w, m.LatencyMs);
    }

    private static void WriteHttp(Utf8JsonWriter w, HttpRecord h)
    {
        w.WriteBoolean("tls", h.Tls);
        if (h.Tls)
        {
            w.WriteString("sni", h.Sni);
        }
        if (h.TlsSession is not null)
        {
            w.WriteString("tls_session", h.TlsSession);
        }
        w.WriteString("method", h.Method);
        w.WriteString("path", h.Path);
        w.WriteString("host", h.Host);
        w.WriteString("version", h.Version);
        if (h.Status is { } status)
        {
            w.WriteNumber("status", status);
        }
        else
        {
            w.WriteNull("status");
        }
        WriteOptional(w, "req_bytes", h.ReqBytes);
        WriteOptional(w, "resp_bytes", h.RespBytes);
        WriteHeaders(w, "req_headers", h.ReqHeaders);
        WriteHeaders(w, "resp_headers", h.RespHeaders);
        if (!h.ReqBody.IsEmpty)
        {
            w.WriteBase64String("req_body_b64", h.ReqBody.Span);
        }
        if (!h.RespBody.IsEmpty)
        {
            w.WriteBase64String("resp_body_b64", h.RespBody.Span);
        }
        if (h.ReqContentEncoding is not null)
        {
            w.WriteString("req_content_encoding", h.ReqContentEncoding);
        }
        if (h.RespContentEncoding is not null)
        {
            w.WriteString("resp_content_encoding", h.RespContentEncoding);
        }
        if (h.Upgrade is not null)
        {
            w.WriteString("upgrade", h.Upgrade);
        }
        if (h.Interim.Count > 0)
        {
            w.WriteStartArray("interim");
            foreach (int code in h.Interim)
            {
                w.WriteNumberValue(code);
            }
            w.WriteEndArray();
        }
        if (h.UnseenBytes > 0)
        {
            w.WriteNumber("unseen_bytes", h.UnseenBytes);
        }
        if (h.Trailers is not null)
        {
            WriteHeaders(w, "trailers", h.Trailers);
        }
        if (h.Truncated)
        {
            w.WriteBoolean("truncated", true);
        }
    }

    /// <summary>Headers as an object in wire order; a repeated name's values are joined with ", " (RFC 9110 §5.3).</summary>
    /// <remarks>On the hot path of every http record: no allocation unless a name repeats or is not lower case.</remarks>
    private static void WriteHeaders(Utf8JsonWriter w, string name, IReadOnlyList<KeyValuePair<string, string>>? headers)
    {
        if (headers is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartObject(name);
        for (int i = 0; i < headers.Count; i++)
        {
            string key = headers[i].Key;
            if (IndexOfName(headers, key, 0, i) >= 0)
            {
                continue; // written with its first occurrence
            }
            string value = headers[i].Value;
            if (IndexOfName(headers, key, i + 1, headers.Count) >= 0)
            {
                var joined = new StringBuilder(value);
                for (int j = i + 1; j < headers.Count; j++)
                {
                    if (string.Equals(headers[j].Key, key, StringComparison.OrdinalIgnoreCase))
                    {
                        joined.Append(", ").Append(headers[j].Value);
                    }
                }
                value = joined.ToString();
            }
            w.WriteString(LowerName(key), value);
        }
        w.WriteEndObject();
    }

    private static int IndexOfName(IReadOnlyList<KeyValuePair<string, string>> headers, string key, int from, int to)
    {
        for (int j = from; j < to; j++)
        {
            if (string.Equals(headers[j].Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return j;
            }
        }
        return -1;
    }

    [ThreadStatic]
    private static Dictionary<string, string>? t_lowerNames;

    /// <summary>Header names come interned from the parser ("Content-Type"): lower-case each spelling once per thread.</summary>
    private static string LowerName(string key)
    {
        if (!key.AsSpan().ContainsAnyInRange('A', 'Z'))
        {
            return key;
        }
        var cache = t_lowerNames ??= new Dictionary<string, string>(StringComparer.Ordinal);
        if (!cache.TryGetValue(key, out var lower))
        {
            lower = key.ToLowerInvariant();
            if (cache.Count < 1024)
            {
                cache[key] = lower;
            }
        }
        return lower;
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, long? value)
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
            w.WriteNumber("latency_ms", Math.Round(ms, 3));
        }
        else
        {
            w.WriteNull("latency_ms");
        }
    }
}
