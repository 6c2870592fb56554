using System.Text.Json;
using Tattle.Records.Json;
using static Tattle.Report.InventoryBuilder;

namespace Tattle.Report;

/// <summary>`report --json`: the inventory as one JSON object (docs/report.md), and back (`diff` reads it).</summary>
public static class InventoryJson
{
    /// <summary>The value of <c>type</c> that marks a report's JSON among JSON Lines records.</summary>
    public const string Type = "tattle.report";

    public static void Write(Stream output, Inventory inv)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("type", Type);
        w.WriteNumber("version", 1);
        w.WriteStartArray("sources");
        foreach (var s in inv.Sources)
        {
            w.WriteStringValue(s);
        }
        w.WriteEndArray();
        w.WriteNumber("records", inv.Records);
        w.WriteNumber("malformed", inv.Malformed);
        w.WriteNumber("lost", inv.Lost);
        WriteCounts(w, "loss", inv.LossWhere);
        w.WriteString("first_seen", inv.FirstSeen);
        w.WriteString("last_seen", inv.LastSeen);
        w.WriteStartArray("programs");
        foreach (var p in inv.Programs)
        {
            w.WriteStartObject();
            w.WriteString("program", p.Program);
            w.WriteString("comm", p.Comm);
            w.WriteString("user", p.User);
            JsonFields.WriteOptional(w, JsonEncodedText.Encode("uid"), p.Uid);
            w.WriteString("container", p.Container);
            w.WriteNumber("processes", p.Processes);
            WriteStrings(w, "trees", p.Trees);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("endpoints");
        foreach (var e in inv.Endpoints)
        {
            WriteEndpoint(w, e);
        }
        w.WriteEndArray();
        w.WriteStartObject("address_names");
        foreach (var (addr, names) in inv.AddressNames)
        {
            WriteStrings(w, addr, names);
        }
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();
        output.WriteByte((byte)'\n');
    }

    private static void WriteEndpoint(Utf8JsonWriter w, EndpointUse e)
    {
        w.WriteStartObject();
        w.WriteString("program", e.Program);
        w.WriteString("comm", e.Comm);
        w.WriteString("user", e.User);
        JsonFields.WriteOptional(w, JsonEncodedText.Encode("uid"), e.Uid);
        w.WriteString("container", e.Container);
        w.WriteString("cgroup", e.Cgroup);
        w.WriteString("proto", e.Proto);
        w.WriteString("role", e.Role);
        w.WriteString("addr", e.Addr);
        JsonFields.WriteOptional(w, JsonEncodedText.Encode("port"), e.Port);
        w.WriteString("path", e.Path);
        WriteStrings(w, "names", e.Names);
        WriteStrings(w, "resolved_names", e.ResolvedNames);
        WriteStrings(w, "apps", e.Apps);
        w.WriteBoolean("tls", e.Tls);
        w.WriteNumber("connections", e.Connections);
        w.WriteNumber("attempts", e.Attempts);
        w.WriteNumber("requests", e.Requests);
        w.WriteNumber("unanswered", e.Unanswered);
        w.WriteNumber("bytes_sent", e.BytesSent);
        w.WriteNumber("bytes_recv", e.BytesRecv);
        WriteCounts(w, "errors", e.Errors);
        w.WriteString("first_seen", e.FirstSeen);
        w.WriteString("last_seen", e.LastSeen);
        JsonFields.WriteMilliseconds(w, JsonEncodedText.Encode("p50_ms"), e.P50Ms);
        JsonFields.WriteMilliseconds(w, JsonEncodedText.Encode("p99_ms"), e.P99Ms);
        w.WriteStartArray("http");
        foreach (var r in e.Http.Values)
        {
            w.WriteStartObject();
            w.WriteString("method", r.Method);
            w.WriteString("path", r.Path);
            w.WriteNumber("count", r.Count);
            WriteCounts(w, "statuses", r.Statuses);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("dns");
        foreach (var q in e.Dns.Values)
        {
            w.WriteStartObject();
            w.WriteString("query", q.Name);
            w.WriteString("qtype", q.Type);
            w.WriteNumber("count", q.Count);
            WriteStrings(w, "rcodes", q.Rcodes);
            WriteStrings(w, "answers", q.Answers);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Reads a report's JSON back: what `diff` compares (identity, names, protocols, counts).</summary>
    public static Inventory Read(JsonElement root)
    {
        var inv = new Inventory { Records = Long(root, "records") ?? 0, Malformed = Long(root, "malformed") ?? 0, Lost = Long(root, "lost") ?? 0 };
        inv.FirstSeen = Str(root, "first_seen");
        inv.LastSeen = Str(root, "last_seen");
        foreach (var s in Array(root, "sources"))
        {
            inv.Sources.Add(s.GetString() ?? "");
        }
        foreach (var p in Array(root, "programs"))
        {
            var g = new ProgramGroup
            {
                Program = Str(p, "program") ?? "?",
                Comm = Str(p, "comm") ?? "?",
                User = Str(p, "user"),
                Uid = Int(p, "uid"),
                Container = Str(p, "container"),
                Processes = Long(p, "processes") ?? 0,
            };
            g.Trees.UnionWith(Strings(p, "trees"));
            inv.Programs.Add(g);
        }
        foreach (var j in Array(root, "endpoints"))
        {
            var e = new EndpointUse
            {
                Program = Str(j, "program") ?? "?",
                Comm = Str(j, "comm") ?? "?",
                User = Str(j, "user"),
                Uid = Int(j, "uid"),
                Container = Str(j, "container"),
                Cgroup = Str(j, "cgroup"),
                Proto = Str(j, "proto") ?? "?",
                Role = Str(j, "role") ?? "client",
                Addr = Str(j, "addr"),
                Port = Int(j, "port"),
                Path = Str(j, "path"),
                Tls = Bool(j, "tls"),
                Connections = Long(j, "connections") ?? 0,
                Attempts = Long(j, "attempts") ?? 0,
                Requests = Long(j, "requests") ?? 0,
                Unanswered = Long(j, "unanswered") ?? 0,
                BytesSent = Long(j, "bytes_sent") ?? 0,
                BytesRecv = Long(j, "bytes_recv") ?? 0,
                FirstSeen = Str(j, "first_seen"),
                LastSeen = Str(j, "last_seen"),
                P50Ms = Double(j, "p50_ms"),
                P99Ms = Double(j, "p99_ms"),
            };
            e.Names.UnionWith(Strings(j, "names"));
            e.ResolvedNames.UnionWith(Strings(j, "resolved_names"));
            e.Apps.UnionWith(Strings(j, "apps"));
            if (j.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
            {
                foreach (var x in errors.EnumerateObject())
                {
                    e.Errors[x.Name] = x.Value.TryGetInt64(out long n) ? n : 0;
                }
            }
            inv.Endpoints.Add(e);
        }
        if (root.TryGetProperty("address_names", out var names) && names.ValueKind == JsonValueKind.Object)
        {
            foreach (var a in names.EnumerateObject())
            {
                inv.AddressNames[a.Name] = new SortedSet<string>(Strings(names, a.Name), StringComparer.OrdinalIgnoreCase);
            }
        }
        return inv;
    }

    private static IEnumerable<JsonElement> Array(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : [];

    private static IEnumerable<string> Strings(JsonElement e, string name) =>
        Array(e, name).Where(s => s.ValueKind == JsonValueKind.String).Select(s => s.GetString()!);

    private static double? Double(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }
        w.WriteEndArray();
    }

    private static void WriteCounts(Utf8JsonWriter w, string name, IEnumerable<KeyValuePair<string, long>> counts)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in counts)
        {
            w.WriteNumber(k, v);
        }
        w.WriteEndObject();
    }
}
