using System.Globalization;

namespace Tattle.Capture.Proc;

/// <summary>Who a process runs as and where: its real uid, cgroup and executable, read from /proc.</summary>
public static class ProcIdentity
{
    /// <summary>The real uid (who the process runs for), or null when the process is gone.</summary>
    public static int? ReadUid(int pid, string procRoot = "/proc")
    {
        foreach (var line in Lines($"{procRoot}/{pid}/status"))
        {
            // "Uid:\treal\teffective\tsaved\tfs".
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                var fields = line[4..].Split('\t', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out int uid) ? uid : null;
            }
        }
        return null;
    }

    /// <summary>The unified hierarchy's path ("0::/path"); on a v1-only host, the name=systemd one; null when gone.</summary>
    public static string? ReadCgroup(int pid, string procRoot = "/proc")
    {
        string? systemd = null;
        foreach (var line in Lines($"{procRoot}/{pid}/cgroup"))
        {
            if (line.StartsWith("0::", StringComparison.Ordinal))
            {
                return line[3..];
            }
            if (line.Contains(":name=systemd:", StringComparison.Ordinal))
            {
                systemd = line[(line.IndexOf(":name=systemd:", StringComparison.Ordinal) + 14)..];
            }
        }
        return systemd;
    }

    /// <summary>The program running now (/proc/PID/exe's target), or null (gone, a kernel thread, no permission).</summary>
    public static string? ReadExe(int pid, string procRoot = "/proc")
    {
        try
        {
            return File.ResolveLinkTarget($"{procRoot}/{pid}/exe", returnFinalTarget: false)?.FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string[] Lines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
