using System.Globalization;
using System.Text.Json;
using Tattle.Records;

namespace Tattle.Report;

/// <summary>
/// Drift between two inventories, endpoint by endpoint: an endpoint is what the programs reached out to, known
/// by its name (else its address or path); added and removed ones, and changes of one that stayed: ports,
/// transports, protocols and programs it gained or no longer used, TLS dropped.
/// </summary>
public sealed class InventoryDiff
{
    public List<Target> Added { get; } = [];

    public List<Target> Removed { get; } = [];

    public List<(Target Old, Target New, List<string> Changes)> Changed { get; } = [];

    /// <summary>Whether anything was added: a new endpoint, or a new port, protocol or program on one.</summary>
    public bool AnythingNew => Added.Count > 0 || Changed.Any(c => c.Changes.Any(x => x.StartsWith("new ", StringComparison.Ordinal)));

    public static InventoryDiff Compare(Inventory old, Inventory now)
    {
        var before = Targets(old);
        var after = Targets(now);
        var diff = new InventoryDiff();
        diff.Added.AddRange(after.Where(t => !before.ContainsKey(t.Key)).Select(t => t.Value));
        diff.Removed.AddRange(before.Where(t => !after.ContainsKey(t.Key)).Select(t => t.Value));
        foreach (var (key, n) in after)
        {
            if (!before.TryGetValue(key, out var o))
            {
                continue;
            }
            var changes = new List<string>();
            Compare("port", o.Ports.Select(p => p.ToString(CultureInfo.InvariantCulture)), n.Ports.Select(p => p.ToString(CultureInfo.InvariantCulture)), changes);
            Compare("transport", o.Protos, n.Protos, changes);
            Compare("protocol", o.Apps, n.Apps, changes);
            Compare("program", o.Programs, n.Programs, changes);
            if (o.Tls && !n.Tls)
            {
                changes.Add("TLS dropped");
            }
            if (changes.Count > 0)
            {
                diff.Changed.Add((o, n, changes));
            }
        }
        return diff;
    }

    /// <summary>"new port 8443", then "ports 80, 8080 dropped": what an endpoint gained, and what it no longer used.</summary>
    private static void Compare(string what, IEnumerable<string> old, IEnumerable<string> now, List<string> changes)
    {
        var added = now.Except(old).ToList();
        if (added.Count > 0)
        {
            changes.Add($"new {what}{(added.Count > 1 ? "s" : "")} {string.Join(", ", added)}");
        }
        var dropped = old.Except(now).ToList();
        if (dropped.Count > 0)
        {
            changes.Add($"{what}{(dropped.Count > 1 ? "s" : "")} {string.Join(", ", dropped)} dropped");
        }
    }

    private static SortedDictionary<string, Target> Targets(Inventory inv)
    {
        var targets = new SortedDictionary<string, Target>(StringComparer.OrdinalIgnoreCase);
        foreach (var e in inv.Endpoints.Where(e => e.Role == "client"))
        {
            string key = e.Target;
            if (!targets.TryGetValue(key, out var t))
            {
                t = new Target(key);
                targets[key] = t;
            }
            if (e.Addr is not null)
            {
                t.Addresses.Add(e.Addr);
            }
            if (e.Port is { } p)
            {
                t.Ports.Add(p);
            }
            t.Protos.Add(e.Proto);
            t.Apps.UnionWith(e.Apps);
            t.Programs.Add(e.Program);
            t.Tls |= e.Tls;
            t.Attempts += e.Attempts;
        }
        return targets;
    }

    public void WriteText(TextWriter w)
    {
        if (Added.Count + Removed.Count + Changed.Count == 0)
        {
            w.WriteLine("no drift: the same endpoints, ports, protocols and programs");
            return;
        }
        foreach (var t in Added)
        {
            w.WriteLine($"+ {t}");
        }
        foreach (var t in Removed)
        {
            w.WriteLine($"- {t}");
        }
        foreach (var (_, n, changes) in Changed)
        {
            w.WriteLine($"~ {n.Name}: {string.Join("; ", changes)}");
        }
        w.WriteLine($"{Added.Count} added, {Removed.Count} removed, {Changed.Count} changed");
    }

    public void WriteJson(Stream output)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("type", "tattle.diff");
        WriteTargets(w, "added", Added);
        WriteTargets(w, "removed", Removed);
        w.WriteStartArray("changed");
        foreach (var (_, n, changes) in Changed)
        {
            w.WriteStartObject();
            w.WriteString("endpoint", n.Name);
            w.WriteStartArray("changes");
            changes.ForEach(w.WriteStringValue);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        output.WriteByte((byte)'\n');
    }

    private static void WriteTargets(Utf8JsonWriter w, string name, List<Target> targets)
    {
        w.WriteStartArray(name);
        foreach (var t in targets)
        {
            w.WriteStartObject();
            w.WriteString("endpoint", t.Name);
            Strings(w, "addresses", t.Addresses);
            w.WriteStartArray("ports");
            foreach (var p in t.Ports)
            {
                w.WriteNumberValue(p);
            }
            w.WriteEndArray();
            Strings(w, "protos", t.Protos);
            Strings(w, "apps", t.Apps);
            Strings(w, "programs", t.Programs);
            w.WriteBoolean("tls", t.Tls);
            w.WriteNumber("attempts", t.Attempts);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }
        w.WriteEndArray();
    }

    /// <summary>An endpoint across programs: everything the inventory says about one name or address.</summary>
    public sealed class Target(string name)
    {
        public string Name { get; } = name;

        public SortedSet<string> Addresses { get; } = new(StringComparer.Ordinal);

        public SortedSet<int> Ports { get; } = [];

        public SortedSet<string> Protos { get; } = new(StringComparer.Ordinal);

        public SortedSet<string> Apps { get; } = new(StringComparer.Ordinal);

        public SortedSet<string> Programs { get; } = new(StringComparer.Ordinal);

        public bool Tls { get; set; }

        public long Attempts { get; set; }

        public override string ToString() =>
            $"{Name} {string.Join("/", Protos)}" + (Ports.Count > 0 ? $" port {string.Join(",", Ports)}" : "") // a Unix socket has none
            + (Apps.Count > 0 ? $" {string.Join(",", Apps)}" : "")
            + (Tls ? " tls" : "") + $" ({string.Join(", ", Programs)}; {Plural.Count(Attempts, "attempt", "attempts")})";
    }
}
