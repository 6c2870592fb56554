using System.Globalization;

namespace Tattle.Capture.Proc;

/// <summary>The fields of /proc/PID/stat that identify a process and place it in the tree.</summary>
public readonly record struct ProcStat(int Pid, string Comm, char State, int ParentPid, ulong StartTicks)
{
    /// <summary>Clock ticks per second of /proc's start times (USER_HZ, 100 on Linux).</summary>
    public const ulong TicksPerSecond = 100;

    /// <summary>
    /// The process start time in clock ticks since boot: with the pid, it identifies a process across pid reuse.
    /// The kernel's start_boottime (ns) maps to the same value.
    /// </summary>
    public static ulong TicksFromBootNs(ulong ns) => ns / (1_000_000_000 / TicksPerSecond);

    /// <summary>Whether the process has exited and only its entry remains (zombie Z, or dead X while being reaped).</summary>
    public bool IsDead => State is 'Z' or 'X' or 'x';

    /// <summary>Reads /proc/PID/stat; null when the process is gone or unreadable.</summary>
    public static ProcStat? Read(int pid, string procRoot = "/proc")
    {
        string text;
        try
        {
            text = File.ReadAllText($"{procRoot}/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        return Parse(text);
    }

    /// <summary>Parses a stat line. comm may hold spaces and parentheses: it ends at the last ')'.</summary>
    public static ProcStat? Parse(ReadOnlySpan<char> line)
    {
        int open = line.IndexOf('(');
        int close = line.LastIndexOf(')');
        if (open <= 0 || close < open || !int.TryParse(line[..(open - 1)], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
        {
            return null;
        }
        var comm = line[(open + 1)..close].ToString();
        var rest = line[(close + 1)..].Trim();
        // Fields after comm: state(3) ppid(4) pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
        // stime cutime cstime priority nice num_threads itrealvalue starttime(22).
        Span<Range> fields = stackalloc Range[21];
        int n = rest.Split(fields, ' ', StringSplitOptions.RemoveEmptyEntries);
        if (n < 20 || rest[fields[0]].Length != 1
            || !int.TryParse(rest[fields[1]], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int ppid)
            || !ulong.TryParse(rest[fields[19]], NumberStyles.None, CultureInfo.InvariantCulture, out ulong start))
        {
            return null;
        }
        return new ProcStat(pid, comm, rest[fields[0]][0], ppid, start);
    }

    /// <summary>The process's argv from /proc/PID/cmdline (empty for kernel threads or when gone).</summary>
    public static IReadOnlyList<string> ReadArgv(int pid)
    {
        try
        {
            var raw = File.ReadAllText($"/proc/{pid}/cmdline");
            return raw.Split('\0', StringSplitOptions.None).SkipLast(raw.EndsWith('\0') ? 1 : 0).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Every process whose name is <paramref name="comm"/>.</summary>
    public static IEnumerable<ProcStat> FindByComm(string comm) => All().Where(p => p.Comm == comm);

    /// <summary>All processes now (a snapshot; some may be gone by the time they are used).</summary>
    public static IEnumerable<ProcStat> All()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && Read(pid) is { } stat)
            {
                yield return stat;
            }
        }
    }

    /// <summary>The descendants of the given processes, from one /proc snapshot.</summary>
    public static IReadOnlyList<ProcStat> Descendants(IReadOnlyCollection<int> roots)
    {
        var all = All().ToList();
        var byParent = all.ToLookup(p => p.ParentPid);
        var result = new List<ProcStat>();
        var queue = new Queue<int>(roots);
        var seen = new HashSet<int>(roots);
        while (queue.Count > 0)
        {
            foreach (var child in byParent[queue.Dequeue()])
            {
                if (seen.Add(child.Pid))
                {
                    result.Add(child);
                    queue.Enqueue(child.Pid);
                }
            }
        }
        return result;
    }
}
