using System.Runtime.InteropServices;
using Tattle.Capture.Bpf;
using Tattle.Tracking;

namespace Tattle.Cli.Tracing;

/// <summary>
/// `tattle sandbox`: the command is run exactly as `tattle run` runs it (through `ip netns exec`); this keeps the
/// session so the sandbox's report can name the destinations it refused by the DNS answers the trace saw.
/// </summary>
internal sealed class SandboxTarget(RunTarget run) : ITraceTarget
{
    public TraceSession? Session { get; private set; }

    public int ExitCode => run.ExitCode;

    public int RootPid => run.RootPid;

    public bool CountsStillRunning => run.CountsStillRunning;

    public (int Pid, int Uid)? LaunchedAs => run.LaunchedAs;

    public Action<int, string?>? OnTraced
    {
        get => run.OnTraced;
        set => run.OnTraced = value;
    }

    public void Start(BpfTracer tracer, TraceSession session, long nowMonoNs)
    {
        Session = session;
        run.Start(tracer, session, nowMonoNs);
    }

    public bool IsFinished(TraceSession session, long nowMonoNs) => run.IsFinished(session, nowMonoNs);

    public bool OnSignal(PosixSignal signal, int count) => run.OnSignal(signal, count);

    public void Dispose() => run.Dispose();
}
