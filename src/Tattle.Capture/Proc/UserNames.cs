using System.Globalization;

namespace Tattle.Capture.Proc;

/// <summary>uid ↔ user name from /etc/passwd (no NSS: LDAP/sssd users show as numbers).</summary>
public sealed class UserNames
{
    private static readonly Lazy<UserNames> LazyDefault = new(() => Load("/etc/passwd"));
    private readonly Dictionary<uint, string> _byUid = [];
    private readonly Dictionary<string, uint> _byName = new(StringComparer.Ordinal);

    /// <summary>The host's /etc/passwd, read once.</summary>
    public static UserNames Default => LazyDefault.Value;

    /// <summary>Reads a passwd(5) file; a missing file gives an empty table.</summary>
    public static UserNames Load(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new UserNames();
        }
    }

    /// <summary>Parses passwd(5) text "name:x:uid:gid:..."; malformed lines are skipped, first entry per uid wins.</summary>
    public static UserNames Parse(string text)
    {
        var users = new UserNames();
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            int c1 = line.IndexOf(':');
            if (c1 <= 0)
            {
                continue;
            }
            var afterName = line[(c1 + 1)..];
            int c2 = afterName.IndexOf(':');
            if (c2 < 0)
            {
                continue;
            }
            var afterPw = afterName[(c2 + 1)..];
            int c3 = afterPw.IndexOf(':');
            if (c3 <= 0 || !uint.TryParse(afterPw[..c3], NumberStyles.None, CultureInfo.InvariantCulture, out uint uid))
            {
                continue;
            }
            string name = line[..c1].ToString();
            users._byUid.TryAdd(uid, name);
            users._byName.TryAdd(name, uid);
        }
        return users;
    }

    /// <summary>User name of a uid, or null.</summary>
    public string? NameOf(uint uid) => _byUid.GetValueOrDefault(uid);

    /// <summary>Name of a uid, falling back to the number.</summary>
    public string Display(uint uid) => NameOf(uid) ?? uid.ToString(CultureInfo.InvariantCulture);

    /// <summary>Resolves a user name or a numeric uid.</summary>
    public bool TryResolve(string nameOrUid, out uint uid)
    {
        if (_byName.TryGetValue(nameOrUid, out uid))
        {
            return true;
        }
        return uint.TryParse(nameOrUid, NumberStyles.None, CultureInfo.InvariantCulture, out uid);
    }
}
