namespace Tattle.Tests.Support;

/// <summary>Debian's python3 when present: a pyenv shim would add dozens of traced bash processes to every run.</summary>
public static class Py
{
    public static string Exe => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>
    /// Python under a process name of its own (a symlink in <paramref name="directory"/>): a process's comm is the base
    /// name of the path it was executed by, so tests can select it by a name no other process has.
    /// </summary>
    public static string Named(string directory, string name)
    {
        var link = Path.Combine(directory, name);
        File.CreateSymbolicLink(link, Exe);
        return link;
    }
}
