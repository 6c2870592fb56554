using System.Text;
using System.Text.Json;
using Tattle.Capture.Proc;

namespace Tattle.Sandbox;

/// <summary>
/// The record a sandbox keeps in /run/tattle while it lives: what it created, and which tattle owns it. Written
/// before anything is created and deleted after everything is removed, so `tattle sandbox --cleanup` can undo a
/// sandbox whose tattle was SIGKILLed.
/// </summary>
public sealed record SandboxState
{
    /// <summary>Where state files live: tmpfs, so a reboot (which removes every sandbox anyway) clears them too.</summary>
    public const string Directory = "/run/tattle";

    public required string Id { get; init; }

    public required string Netns { get; init; }

    public required string HostVeth { get; init; }

    public required string NftTable { get; init; }

    public required string EtcDir { get; init; }

    public required string Subnet { get; init; }

    /// <summary>Whether the sandbox needs net.ipv4.ip_forward (NAT mode).</summary>
    public required bool Forwarding { get; init; }

    public required int OwnerPid { get; init; }

    /// <summary>The owner's start time in clock ticks since boot, so a reused pid is not taken for the owner.</summary>
    public required ulong OwnerStart { get; init; }

    public string Path => StatePath(Id);

    public static string StatePath(string id) => System.IO.Path.Combine(Directory, $"sandbox-{id}.json");

    public static SandboxState For(SandboxPlan plan) => new()
    {
        Id = plan.Id,
        Netns = plan.Netns,
        HostVeth = plan.HostVeth,
        NftTable = plan.NftTable,
        EtcDir = plan.EtcDir,
        Subnet = plan.Subnet.ToString(),
        Forwarding = plan.Nat,
        OwnerPid = Environment.ProcessId,
        OwnerStart = ProcStat.Read(Environment.ProcessId)?.StartTicks ?? 0,
    };

    /// <summary>
    /// Whether the tattle that made this sandbox still runs. A zombie does not: killed and not yet reaped by its
    /// parent, it will never tear its sandbox down.
    /// </summary>
    public bool OwnerAlive => ProcStat.Read(OwnerPid) is { } p && p.StartTicks == OwnerStart && !p.IsDead;

    /// <summary>Writes the file atomically (a rename), so a crash never leaves half a record.</summary>
    public void Save()
    {
        System.IO.Directory.CreateDirectory(Directory);
        string tmp = Path + ".tmp";
        File.WriteAllBytes(tmp, ToJson());
        File.Move(tmp, Path, overwrite: true);
    }

    public byte[] ToJson()
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("id", Id);
            w.WriteString("netns", Netns);
            w.WriteString("hostVeth", HostVeth);
            w.WriteString("nftTable", NftTable);
            w.WriteString("etcDir", EtcDir);
            w.WriteString("subnet", Subnet);
            w.WriteBoolean("forwarding", Forwarding);
            w.WriteNumber("ownerPid", OwnerPid);
            w.WriteNumber("ownerStart", OwnerStart);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Every state file in the directory; unreadable ones are skipped (and named in <paramref name="bad"/>).</summary>
    public static List<SandboxState> LoadAll(List<string>? bad = null)
    {
        var list = new List<SandboxState>();
        if (!System.IO.Directory.Exists(Directory))
        {
            return list;
        }
        foreach (var file in System.IO.Directory.GetFiles(Directory, "sandbox-*.json").Order(StringComparer.Ordinal))
        {
            try
            {
                list.Add(Parse(File.ReadAllText(file, Encoding.UTF8)));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IOException)
            {
                bad?.Add(file);
            }
        }
        return list;
    }

    public static SandboxState Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        string Str(string name) => r.GetProperty(name).GetString() ?? throw new KeyNotFoundException(name);
        return new SandboxState
        {
            Id = Str("id"),
            Netns = Str("netns"),
            HostVeth = Str("hostVeth"),
            NftTable = Str("nftTable"),
            EtcDir = Str("etcDir"),
            Subnet = Str("subnet"),
            Forwarding = r.GetProperty("forwarding").GetBoolean(),
            OwnerPid = r.GetProperty("ownerPid").GetInt32(),
            OwnerStart = r.GetProperty("ownerStart").GetUInt64(),
        };
    }

    public void Delete() => File.Delete(Path);
}
