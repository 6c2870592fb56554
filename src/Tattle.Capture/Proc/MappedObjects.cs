using System.Globalization;

namespace Tattle.Capture.Proc;

/// <summary>Whether a process's executable mappings could be listed.</summary>
public enum MappedObjectsStatus
{
    /// <summary>/proc/PID/maps was read.</summary>
    Ok,

    /// <summary>There is no such process (or it exited while being read).</summary>
    NoProcess,

    /// <summary>/proc/PID/maps could not be read: another user's process without root, or ptrace restrictions.</summary>
    PermissionDenied,
}

/// <summary>One file a process maps executable: the path the process sees, and the path to open it from here.</summary>
/// <param name="MappedPath">The path in /proc/PID/maps, without the " (deleted)" suffix.</param>
/// <param name="ReadPath">The same through /proc/PID/root when the process is in another mount namespace.</param>
/// <param name="Deleted">The file was unlinked or replaced since it was mapped: ReadPath is no longer what runs.</param>
public readonly record struct MappedObject(string MappedPath, string ReadPath, bool Deleted);

/// <summary>The distinct files a process maps executable, /proc/PID/exe first, readable from this mount namespace.</summary>
public static class MappedObjects
{
    /// <summary>Lists the objects of <paramref name="pid"/>; an empty list unless the status is Ok.</summary>
    public static MappedObjectsStatus ForProcess(int pid, out IReadOnlyList<MappedObject> objects)
    {
        objects = [];
        string proc = "/proc/" + pid.ToString(CultureInfo.InvariantCulture);
        if (pid <= 0 || !Directory.Exists(proc))
        {
            return MappedObjectsStatus.NoProcess;
        }
        string maps;
        try
        {
            maps = File.ReadAllText(proc + "/maps");
        }
        catch (UnauthorizedAccessException)
        {
            return MappedObjectsStatus.PermissionDenied;
        }
        catch (IOException)
        {
            return Directory.Exists(proc) ? MappedObjectsStatus.PermissionDenied : MappedObjectsStatus.NoProcess;
        }
        var files = new List<string>(ProcMaps.ExecutableFiles(maps));
        if (LinkTarget(proc + "/exe") is { } exe && exe.StartsWith('/') && !files.Contains(exe))
        {
            files.Insert(0, exe);
        }
        // Paths in maps are the process's own: in another mount namespace the same path here may be another file.
        string prefix = LinkTarget("/proc/self/ns/mnt") is { } ours && ours == LinkTarget(proc + "/ns/mnt") ? "" : proc + "/root";
        var list = new List<MappedObject>(files.Count);
        foreach (string file in files)
        {
            bool deleted = file.EndsWith(ProcMaps.DeletedSuffix, StringComparison.Ordinal);
            string path = deleted ? file[..^ProcMaps.DeletedSuffix.Length] : file;
            list.Add(new MappedObject(path, prefix + path, deleted));
        }
        objects = list;
        return MappedObjectsStatus.Ok;
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
