using System.Text.Json;
using Tattle.Records.Json;

namespace Tattle.Protocols.Http;

/// <summary>
/// Writes an http record's fields from "tls" to "resp_headers" as one run of bytes when they repeat those of the
/// connection's previous record: a client polling an endpoint, a load generator or a health check sends the same
/// request and gets the same response head, so each record differs from the last only in its time and latency.
/// Field by field, those eleven fields were a fifth of an http record's CPU from parse to JSON line
/// (docs/performance.md). A run is encoded when it is seen a second time in a row, so a connection whose
/// exchanges differ pays a comparison only.
/// </summary>
internal static class RecurringExchange
{
    [ThreadStatic]
    private static Entry[]? t_entries;

    private sealed class Entry
    {
        /// <summary>
        /// The record the run was made from (records never change once made). Its fields are matched by instance:
        /// the parser hands a repeated path, host, version and field block over as the same objects (HttpStrings,
        /// the remembered field block), so a repeat is found without comparing text, and a value that is equal but
        /// another instance costs one encoding more.
        /// </summary>
        public HttpRecord? Last;

        /// <summary>The run's bytes, from the value of "tls" to the end of resp_headers; null until seen twice.</summary>
        public byte[]? Json;
    }

    private static bool SameHeads(HttpRecord a, HttpRecord b) =>
        a.Status == b.Status && a.RespBytes == b.RespBytes && a.ReqBytes == b.ReqBytes
        && ReferenceEquals(a.Path, b.Path) && ReferenceEquals(a.RespHeaders, b.RespHeaders)
        && ReferenceEquals(a.ReqHeaders, b.ReqHeaders) && ReferenceEquals(a.Method, b.Method)
        && ReferenceEquals(a.Host, b.Host) && ReferenceEquals(a.Version, b.Version) && a.Tls == b.Tls
        && ReferenceEquals(a.Sni, b.Sni) && ReferenceEquals(a.TlsSession, b.TlsSession);

    public static void Write(Utf8JsonWriter w, HttpRecord r)
    {
        // Arrays only: a handed-over array is never changed, where a list could still grow (HTTP/2 hands lists,
        // one per stream, which never repeat anyway).
        if (r.ReqHeaders is not (null or HttpHeader[]) || r.RespHeaders is not (null or HttpHeader[]))
        {
            r.WriteHeads(w);
            return;
        }
        var e = ConnectionSlots.For(ref t_entries, r.Conn);
        if (e.Last is not { } last || !SameHeads(last, r))
        {
            // One reference kept, not the fields: a connection whose exchanges never repeat pays little for it.
            e.Last = r;
            e.Json = null;
            r.WriteHeads(w);
            return;
        }
        e.Json ??= JsonFragment.EncodeMembers(JsonNames.Tls, r, static (w, r) => r.WriteHeads(w));
        JsonFragment.Write(w, JsonNames.Tls, e.Json);
    }
}
