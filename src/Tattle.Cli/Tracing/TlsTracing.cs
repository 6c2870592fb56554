using Tattle.Capture.Events;
using Tattle.Capture.Tls;

namespace Tattle.Cli.Tracing;

/// <summary>Where a process's TLS functions are: its mapped objects, or what a program about to run will map.</summary>
internal interface ITlsDiscovery
{
    /// <summary>The TLS functions in the objects the process has mapped now.</summary>
    IReadOnlyList<TlsAttachPoint> ForProcess(int pid);

    /// <summary>
    /// For a program that is starting: the system's TLS libraries (it may map or dlopen them later; a uprobe on a
    /// file takes effect in the process when it maps it) and the program's own TLS functions (static OpenSSL).
    /// </summary>
    IReadOnlyList<TlsAttachPoint> ForLaunch(string executable);
}

/// <summary>
/// Keeps the TLS probes on every traced process, passing each event on to the session: at start, at every
/// exec (before the new program's libraries are even mapped) and at fork (a child that does not exec runs the
/// parent's libraries, like nginx workers); and again 100 ms and 1 s after an exec, for objects found only once
/// they are mapped. A process's probes are released when it exits.
/// </summary>
internal sealed class TlsTracing(TlsProbes probes, ITlsDiscovery discovery, ITraceEventSink session) : ITraceEventSink
{
    private static readonly long[] RescanAfterNs = [100_000_000, 1_000_000_000];

    private readonly List<(long DueNs, int Pid)> _rescans = [];

    public TlsProbes Probes => probes;

    /// <summary>Attaches to a process that is already running (attach) or gated before its exec (run).</summary>
    public void AttachRunning(int pid) => probes.Attach(pid, discovery.ForProcess(pid));

    /// <summary>Attaches to a launched command before it is released to exec <paramref name="executable"/>.</summary>
    public void AttachLaunch(int pid, string executable) => probes.Attach(pid, discovery.ForLaunch(executable));

    /// <summary>Runs the rescans that are due.</summary>
    public void Poll(long nowMonoNs)
    {
        for (int i = _rescans.Count - 1; i >= 0; i--)
        {
            if (_rescans[i].DueNs <= nowMonoNs)
            {
                int pid = _rescans[i].Pid;
                _rescans.RemoveAt(i);
                if (probes.Has(pid))
                {
                    AttachRunning(pid);
                }
            }
        }
    }

    public void OnFork(in ProcessFork e)
    {
        session.OnFork(in e);
        if (probes.Has(e.ParentPid))
        {
            AttachRunning(e.Pid);
        }
    }

    public void OnExec(in ProcessExec e)
    {
        session.OnExec(in e);
        // The event's filename may be relative; /proc/PID/exe is the program now running.
        string exe = ReadExe(e.Pid) ?? e.Filename;
        probes.Attach(e.Pid, discovery.ForLaunch(exe));
        foreach (long after in RescanAfterNs)
        {
            _rescans.Add((e.TimestampNs + after, e.Pid));
        }
    }

    public void OnExit(in ProcessExit e)
    {
        session.OnExit(in e);
        probes.Detach(e.Pid);
    }

    public void OnSocket(in SocketEvent e) => session.OnSocket(in e);

    public void OnData(in DataEvent e, ReadOnlySpan<byte> payload) => session.OnData(in e, payload);

    public void OnLoss(in LossEvent e) => session.OnLoss(in e);

    private static string? ReadExe(int pid)
    {
        try
        {
            return File.ResolveLinkTarget($"/proc/{pid}/exe", returnFinalTarget: false)?.FullName;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>Interim: the system's OpenSSL and GnuTLS and the executable, read with the ELF reader.</summary>
internal sealed class InterimTlsDiscovery : ITlsDiscovery
{
    private static readonly string[] Libraries = ["/usr/lib/x86_64-linux-gnu/libssl.so.3", "/usr/lib/x86_64-linux-gnu/libgnutls.so.30"];

    public IReadOnlyList<TlsAttachPoint> ForProcess(int pid) => ForLaunch($"/proc/{pid}/exe");

    public IReadOnlyList<TlsAttachPoint> ForLaunch(string executable) =>
        [.. Libraries.Append(executable).SelectMany(Points)];

    private static IEnumerable<TlsAttachPoint> Points(string path)
    {
        if (Tattle.Capture.Elf.ElfFile.Open(path, out var elf) != Tattle.Capture.Elf.ElfStatus.Ok || elf is null)
        {
            return [];
        }
        using (elf)
        {
            return elf.FindFunctions([.. TlsAttachPoint.Functions])
                .Select(f => new TlsAttachPoint(path, f.Name, f.FileOffset, TlsAttachPoint.KindOf(f.Name)!.Value)).ToList();
        }
    }
}
