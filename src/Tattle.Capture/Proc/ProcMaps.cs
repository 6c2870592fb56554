namespace Tattle.Capture.Proc;

/// <summary>Reads /proc/PID/maps (proc(5)): which files a process has mapped executable.</summary>
public static class ProcMaps
{
    /// <summary>The suffix the kernel appends to a mapping whose file was unlinked (or replaced) since it was mapped.</summary>
    public const string DeletedSuffix = " (deleted)";

    /// <summary>
    /// Distinct paths of file-backed executable mappings, in order of first appearance, "(deleted)" suffix kept.
    /// Anonymous mappings and pseudo-paths ([vdso], [vsyscall], [heap]) are left out.
    /// </summary>
    /// <remarks>A line is "start-end perms offset dev inode", spaces, then the path, which may itself contain spaces.</remarks>
    public static IReadOnlyList<string> ExecutableFiles(ReadOnlySpan<char> maps)
    {
        var paths = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var range in maps.Split('\n'))
        {
            var line = maps[range];
            if (!TrySkipFields(ref line, 5, out var perms) || perms.Length < 3 || perms[2] != 'x')
            {
                continue;
            }
            var path = line.TrimStart(' ');
            if (path.Length > 0 && path[0] == '/')
            {
                string p = path.ToString();
                if (seen.Add(p))
                {
                    paths.Add(p);
                }
            }
        }
        return paths;
    }

    /// <summary>Drops <paramref name="count"/> space-separated fields from the front of the line; the second one is returned.</summary>
    private static bool TrySkipFields(ref ReadOnlySpan<char> line, int count, out ReadOnlySpan<char> second)
    {
        second = default;
        for (int f = 0; f < count; f++)
        {
            line = line.TrimStart(' ');
            int end = line.IndexOf(' ');
            if (end <= 0)
            {
                return false;
            }
            if (f == 1)
            {
                second = line[..end];
            }
            line = line[end..];
        }
        return true;
    }
}
