namespace Tattle.Tests.Support;

/// <summary>Debian's python3 when present: a pyenv shim would add dozens of traced bash processes to every run.</summary>
public static class Py
{
    public static string Exe => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}
