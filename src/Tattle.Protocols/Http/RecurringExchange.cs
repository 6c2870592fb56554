using System.Text.Json;
using Tattle.Records.Json;

namespace Tattle.Protocols.Http;

/// <summary>
/// Writes an http record's fields from "tls" to "resp_headers" as one run of bytes when they repeat those of the
/// connection's previous record: a client polling an endpoint, a load generator or a health check sends the same
/// request and gets the same response head, so each record differs from the last only in its time and latency.
/// Field by field, those eleven fields were a fifth of an http record's CPU from parse to JSON line
/// (docs/performance.md). A run is encoded when it is seen a second time in a row, so a connection whose
/// exchanges differ pays only a comparison and the values it keeps for the next one.
/// </summary>
internal static class RecurringExchange
{
    [ThreadStatic]
    private static Entry[]? t_entries;

    /// <summary>
    /// What the run was made from, matched by instance: the parser hands a repeated path, host, version and field
    /// block over as the same objects (HttpStrings, the remembered field block), so a repeat is found without
    /// comparing text, and a value that is equal but another instance costs one encoding more. Values, not the
    /// record: a parser may refill one record for each exchange of a connection.
    /// </summary>
    private sealed class Entry
    {
        public bool Tls;
        public string? Sni;
        public string? TlsSession;
        public string? Method;
        public string? Path;
        public string? Host;
        public string? Version;
        public int? Status;
        public long? ReqBytes;
        public long? RespBytes;
        public IReadOnlyList<HttpHeader>? ReqHeaders;
        public IReadOnlyList<HttpHeader>? RespHeaders;

        /// <summary>The run's bytes, from the value of "tls" to the end of resp_headers; null until seen twice.</summary>
        public byte[]? Json;

        public bool Matches(HttpRecord r) =>
            Status == r.Status && RespBytes == r.RespBytes && ReqBytes == r.ReqBytes
            && ReferenceEquals(Path, r.Path) && ReferenceEquals(RespHeaders, r.RespHeaders)
            && ReferenceEquals(ReqHeaders, r.ReqHeaders) && ReferenceEquals(Method, r.Method)
            && ReferenceEquals(Host, r.Host) && ReferenceEquals(Version, r.Version) && Tls == r.Tls
            && ReferenceEquals(Sni, r.Sni) && ReferenceEquals(TlsSession, r.TlsSession);

        public void Remember(HttpRecord r)
        {
            (Tls, Sni, TlsSession, Method, Path, Host, Version) = (r.Tls, r.Sni, r.TlsSession, r.Method, r.Path, r.Host, r.Version);
            (Status, ReqBytes, RespBytes, ReqHeaders, RespHeaders) = (r.Status, r.ReqBytes, r.RespBytes, r.ReqHeaders, r.RespHeaders);
            Json = null;
        }
    }

    public static void Write(Utf8JsonWriter w, HttpRecord r)
    {
        // Arrays only: a handed-over array is never changed, where a list could still grow. Both parsers hand
        // arrays, and a repeated field block as the same one (HTTP/1's remembered block, HTTP/2's last block).
        if (r.ReqHeaders is not (null or HttpHeader[]) || r.RespHeaders is not (null or HttpHeader[]))
        {
            r.WriteHeads(w);
            return;
        }
        var e = ConnectionSlots.For(ref t_entries, r.Conn);
        if (!e.Matches(r))
        {
            e.Remember(r);
            r.WriteHeads(w);
            return;
        }
        e.Json ??= JsonFragment.EncodeMembers(JsonNames.Tls, r, static (w, r) => r.WriteHeads(w));
        JsonFragment.Write(w, JsonNames.Tls, e.Json);
    }
}
