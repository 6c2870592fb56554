using System.Runtime.InteropServices;
using Tattle.Capture.Bpf;
using Tattle.Capture.Launch;
using Tattle.Interop;
using Tattle.Tracking;

namespace Tattle.Cli.Tracing;

/// <summary>
/// `tattle run`: launches the command gated, traces it and its descendants, and ends when the last of them exits
/// (like `strace -f`), or when the command exits with <paramref name="followOrphans"/> off. <paramref name="through"/>
/// is a launcher line that execs the command in place (`tattle sandbox`: `ip netns exec NAME`).
/// </summary>
internal sealed class RunTarget(IReadOnlyList<string> argv, string? user, IReadOnlyList<string>? through = null,
    bool followOrphans = true) : ITraceTarget
{
    // After the command exits, wait this long at most for its exit record to come through the ring buffer.
    private const long ExitGraceNs = 1_000_000_000;
    // How often /proc is asked whether descendants still run (their exit records can be lost, or never come).
    private const long DescendantCheckNs = 200_000_000;

    private GatedLauncher? _launcher;
    private long _exitedAt;
    private long _sigintAt;
    private bool _signalled;
    private long _descendantsCheckedAt;
    private bool _descendantsRunning;

    public int ExitCode { get; private set; }

    public int RootPid => _launcher?.Pid ?? 0;

    public bool CountsStillRunning => true;

    /// <summary>The command's pid and the user it was launched as (-u), once started.</summary>
    public (int Pid, int Uid)? LaunchedAs => _launcher is { Uid: { } uid } launcher ? (launcher.Pid, uid) : null;

    public Action<int, string?>? OnTraced { get; set; }

    public void Start(BpfTracer tracer, TraceSession session, long nowMonoNs)
    {
        try
        {
            _launcher = GatedLauncher.Start(argv, user, through);
        }
        catch (LaunchException e)
        {
            throw new TargetException(e.Message, e.ExitCode);
        }
        session.SeedLaunched(_launcher.Pid, _launcher.Executable, throughHelpers: user is not null || through is not null);
        tracer.Trace(_launcher.Pid);
        OnTraced?.Invoke(_launcher.Pid, _launcher.Executable);
        _launcher.Release();
    }

    public bool IsFinished(TraceSession session, long nowMonoNs)
    {
        if (_launcher is null)
        {
            return true;
        }
        if (_sigintAt != 0 && nowMonoNs - _sigintAt > 2_000_000_000 && !_launcher.Process.HasExited)
        {
            // Ctrl-C reached the command through the terminal, but it is still running: pass it on once more.
            Libc.Kill(_launcher.Pid, 2);
            _sigintAt = 0;
        }
        if (!_launcher.Process.HasExited)
        {
            return false;
        }
        if (_exitedAt == 0)
        {
            _exitedAt = nowMonoNs;
            ExitCode = _launcher.Process.ExitCode;
        }
        bool exitSeen = session.Processes.Find(_launcher.Pid) is { Alive: false };
        if (!exitSeen && nowMonoNs - _exitedAt <= ExitGraceNs)
        {
            return false;
        }
        // A signal asked tattle to stop: it passed it on to the command, which is gone; whatever it left running
        // stays untraced (and counted in the summary), as strace -f detaches on SIGTERM.
        return !followOrphans || _signalled || !DescendantsRunning(session, nowMonoNs);
    }

    private bool DescendantsRunning(TraceSession session, long nowMonoNs)
    {
        if (session.Processes.LiveCount == 0)
        {
            return false;
        }
        if (nowMonoNs - _descendantsCheckedAt >= DescendantCheckNs)
        {
            _descendantsCheckedAt = nowMonoNs;
            _descendantsRunning = session.Processes.StillRunning().Any(p => p.Pid != _launcher!.Pid);
        }
        return _descendantsRunning;
    }

    public bool OnSignal(PosixSignal signal, int count)
    {
        if (_launcher is null || _launcher.Process.HasExited)
        {
            return true; // descendants left running are counted in the summary
        }
        _signalled = true;
        if (signal == PosixSignal.SIGINT && count == 1)
        {
            // The terminal sent SIGINT to the whole foreground group, the command included: give it time to exit.
            _sigintAt = WallClock.MonotonicNow();
            return false;
        }
        int number = signal == PosixSignal.SIGINT ? 2 : signal == PosixSignal.SIGHUP ? 1 : 15;
        if (count > 2)
        {
            ExitCode = 128 + number; // what a shell reports for a command the signal ended
            return true; // a third signal: stop tracing now, the command runs on untraced
        }
        Libc.Kill(_launcher.Pid, number);
        return false;
    }

    public void Dispose() => _launcher?.Dispose();
}
