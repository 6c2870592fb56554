using Tattle.Capture.Proc;

namespace Tattle.Capture.Tls;

/// <summary>Finds the TLS libraries a process has loaded, an executable carries, or the system could load later.</summary>
public static class TlsLibraries
{
    /// <summary>Where <see cref="System()"/> looks for libssl.so.*, libgnutls.so.* and libnspr4.so (Debian multiarch first).</summary>
    public static readonly IReadOnlyList<string> SystemDirectories =
    [
        "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/local/lib/x86_64-linux-gnu", "/usr/lib", "/usr/local/lib",
    ];

    private static readonly string[] SystemPatterns = ["libssl.so*", "libgnutls.so*", "libnspr4.so*"];

    /// <summary>
    /// Every distinct file the process maps executable (and /proc/PID/exe), examined for TLS functions. Files of a
    /// process in another mount namespace are read, and returned, as /proc/PID/root/PATH.
    /// </summary>
    public static TlsScan ForProcess(int pid)
    {
        switch (MappedObjects.ForProcess(pid, out var objects))
        {
            case MappedObjectsStatus.NoProcess:
                return new TlsScan(TlsScanStatus.NoProcess, [], []);
            case MappedObjectsStatus.PermissionDenied:
                return new TlsScan(TlsScanStatus.PermissionDenied, [], []);
        }
        var scan = new ScanBuilder();
        foreach (var o in objects)
        {
            if (o.Deleted)
            {
                scan.Unreadable.Add(new TlsUnreadable(o.MappedPath, "deleted or replaced since it was mapped; restart the process to probe it"));
                continue;
            }
            TlsObjects.Scan(o.ReadPath, o.MappedPath, scan, reportNotElf: true);
        }
        return scan.Build();
    }

    /// <summary>The TLS libraries linked statically into an executable about to be run (shared ones: <see cref="System()"/>).</summary>
    public static TlsScan ForExecutable(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var scan = new ScanBuilder();
        TlsObjects.Scan(path, path, scan, reportNotElf: true);
        return scan.Build();
    }

    /// <summary>
    /// libssl.so.*, libgnutls.so.* and libnspr4.so in <see cref="SystemDirectories"/>, symlinks resolved, one entry per inode: the
    /// libraries a process may dlopen later (uprobes are per inode and fire once the file is mapped).
    /// </summary>
    public static TlsScan System() => System(SystemDirectories);

    /// <summary>Same as <see cref="System()"/> over other directories.</summary>
    public static TlsScan System(IEnumerable<string> directories)
    {
        ArgumentNullException.ThrowIfNull(directories);
        var scan = new ScanBuilder();
        foreach (string dir in directories.Where(Directory.Exists))
        {
            foreach (string pattern in SystemPatterns)
            {
                foreach (string file in Directory.EnumerateFiles(dir, pattern).Order(StringComparer.Ordinal))
                {
                    string real = RealPath(file);
                    TlsObjects.Scan(real, real, scan, reportNotElf: false);
                }
            }
        }
        return scan.Build();
    }

    /// <summary>The file a path ends at, symlinks followed (the path itself when it cannot be resolved).</summary>
    internal static string RealPath(string path)
    {
        try
        {
            return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        }
        catch (IOException)
        {
            return path;
        }
    }
}
