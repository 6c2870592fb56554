using System.Globalization;
using System.Net;
using System.Text;
using Tattle.Capture.Proc;
using Tattle.Interop;

namespace Tattle.Tracking.Names;

/// <summary>
/// The names traced programs resolved, kept between runs (a tab-separated file: address, name, Unix time last
/// seen) so that a later `tattle sockets` names an address the way the program asked for it. Entries live for a
/// week from their last sighting, not for the DNS TTL: a connection outlives the TTL of the answer that opened it.
/// Best effort: an unreadable or unwritable file means no names, never an error.
/// </summary>
public static class NameCacheFile
{
    private const int MaxEntries = 65536;
    private static readonly long KeepSeconds = (long)TimeSpan.FromDays(7).TotalSeconds;

    /// <summary>/var/cache/tattle/names.tsv, or $TATTLE_NAME_CACHE (tests, unprivileged users).</summary>
    public static string DefaultPath =>
        Environment.GetEnvironmentVariable("TATTLE_NAME_CACHE") is { Length: > 0 } path ? path : "/var/cache/tattle/names.tsv";

    /// <summary>The entries of the file that have not expired: address text → (name, last seen).</summary>
    public static Dictionary<string, (string Name, long SeenUnixSeconds)> Load(string path, long nowUnixSeconds)
    {
        var entries = new Dictionary<string, (string, long)>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                var parts = line.Split('\t');
                if (parts.Length == 3 && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out long seen)
                    && nowUnixSeconds - seen <= KeepSeconds && IPAddress.TryParse(parts[0], out _) && parts[1].Length > 0)
                {
                    entries[parts[0]] = (parts[1], seen);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No cache yet, or not ours to read: no names.
        }
        return entries;
    }

    /// <summary>Adds a run's names to the file (newest wins, oldest dropped past the cap); returns false if it could not be written.</summary>
    public static bool Merge(string path, AddressNames names, long nowUnixSeconds)
    {
        if (names.Count == 0)
        {
            return true;
        }
        var entries = Load(path, nowUnixSeconds);
        foreach (var (address, name) in names.Entries)
        {
            entries[address] = (name, nowUnixSeconds);
        }
        var text = new StringBuilder();
        foreach (var (address, (name, seen)) in entries.OrderByDescending(e => e.Value.SeenUnixSeconds).Take(MaxEntries))
        {
            // Names come off the wire: a tab or newline in one would corrupt the file, so such names are not kept.
            if (name.AsSpan().IndexOfAny('\t', '\n', '\r') < 0)
            {
                text.Append(address).Append('\t').Append(name).Append('\t').Append(seen.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }
        try
        {
            // The names are what traced programs looked up: the directory is root's alone (0700), the file 0600,
            // and it stays root's under sudo, since `tattle sockets` as root trusts what it holds.
            OutputFile.CreatePrivateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            // Write then rename, so a concurrent reader sees the old file or the new one, never half of one.
            string temp = path + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".tmp";
            using (var file = OutputFile.Create(temp, handToSudoUser: false))
            {
                file.Write(Encoding.UTF8.GetBytes(text.ToString()));
            }
            File.Move(temp, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary>Host names for `tattle sockets`, from the names earlier traced runs saw resolved (read at first use).</summary>
public sealed class CachedAddressNames(Func<IReadOnlyDictionary<string, (string Name, long SeenUnixSeconds)>> load) : IAddressNames
{
    private readonly Lazy<IReadOnlyDictionary<string, (string Name, long SeenUnixSeconds)>> _entries = new(load);

    /// <summary>The default cache file, read when the first address is looked up.</summary>
    public static CachedAddressNames LoadDefault() =>
        new(() => NameCacheFile.Load(NameCacheFile.DefaultPath, DateTimeOffset.UtcNow.ToUnixTimeSeconds()));

    /// <inheritdoc/>
    public string? NameOf(IPAddress address)
    {
        var entries = _entries.Value;
        if (entries.TryGetValue(address.ToString(), out var entry))
        {
            return entry.Name;
        }
        return address.IsIPv4MappedToIPv6 && entries.TryGetValue(address.MapToIPv4().ToString(), out entry) ? entry.Name : null;
    }
}
