using System.Globalization;

namespace Tattle.Cli.Commands;

/// <summary>The `-p PID[,PID...]` values shared by commands that look at given processes.</summary>
internal static class PidList
{
    /// <summary>Parses and dedupes the pids; on a non-number or a pid with no process writes one line and returns false.</summary>
    internal static bool TryParse(IEnumerable<string> args, string command, TextWriter stderr, out List<int> pids)
    {
        pids = [];
        foreach (string arg in args)
        {
            foreach (var part in arg.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p <= 0)
                {
                    stderr.WriteLine($"{command}: '{part}' is not a process id");
                    return false;
                }
                if (!Directory.Exists("/proc/" + p.ToString(CultureInfo.InvariantCulture)))
                {
                    stderr.WriteLine($"{command}: no process with pid {p}");
                    return false;
                }
                if (!pids.Contains(p))
                {
                    pids.Add(p);
                }
            }
        }
        return true;
    }
}
