using Tattle.Interop;

namespace Tattle.Capture.Bpf;

/// <summary>
/// The ids of syscalls:* tracepoints, which perf_event_open takes and only tracefs tells. Where tracefs is not
/// mounted (a minimal machine), it is mounted on a private directory for the reading and unmounted at once, so
/// the machine is left as it was.
/// </summary>
public static class SyscallTracepoints
{
    private const string Mounted = "/sys/kernel/tracing";
    private const string DebugMounted = "/sys/kernel/debug/tracing";

    /// <summary>The id of each of <paramref name="names"/> (such as <c>sys_exit_connect</c>), or null where tracefs cannot be read; <paramref name="why"/> then says what was needed.</summary>
    public static ulong[]? ReadIds(IReadOnlyList<string> names, out string? why)
    {
        foreach (var root in new[] { Mounted, DebugMounted })
        {
            if (Directory.Exists(Path.Combine(root, "events", "syscalls")))
            {
                return Read(root, names, out why);
            }
        }
        string dir = Directory.CreateTempSubdirectory("tattle-tracefs.").FullName;
        try
        {
            if (Libc.Mount("nodev", dir, "tracefs", 0, IntPtr.Zero) != 0)
            {
                why = $"need tracefs, which is not mounted and cannot be: {Errno.Describe(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}";
                return null;
            }
            try
            {
                return Read(dir, names, out why);
            }
            finally
            {
                Libc.Unmount(dir, Libc.MNT_DETACH);
            }
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    private static ulong[]? Read(string root, IReadOnlyList<string> names, out string? why)
    {
        var ids = new ulong[names.Count];
        for (int i = 0; i < names.Count; i++)
        {
            string file = Path.Combine(root, "events", "syscalls", names[i], "id");
            try
            {
                ids[i] = ulong.Parse(File.ReadAllText(file).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                why = $"need their ids: {file}: {e.Message}";
                return null;
            }
        }
        why = null;
        return ids;
    }
}
