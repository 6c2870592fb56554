namespace Tattle.Capture.Bpf;

/// <summary>Settings of the kernel side, fixed at load.</summary>
public sealed record TracerOptions
{
    public const int DefaultSnaplen = 16 * 1024;

    /// <summary>Payload bytes captured per message; 0 counts sizes only.</summary>
    public int Snaplen { get; init; } = DefaultSnaplen;

    /// <summary>
    /// The ring's default size in MiB. libbpf maps its data pages twice (a wrapping record reads as one piece), and
    /// the mapping is resident from the start, so the ring counts twice in tattle's RSS: 32 MiB made 64 MB of a
    /// 148 MB peak with 10 000 connections (bench/overhead/rss.sh, docs/performance.md). 16 MiB still holds about a
    /// third of a second of a saturated nginx's records (~48 MB/s) while the consumer is away.
    /// </summary>
    public const int DefaultRingMiB = 16;

    /// <summary>Ring buffer size in bytes (a power of two, at least one page).</summary>
    public int RingBufferBytes { get; init; } = DefaultRingMiB << 20;

    /// <summary>
    /// The consumer is woken once this much data waits; below it, it finds the data when it polls. 32 KiB is about 27
    /// requests of a saturated nginx, a drain of 0.1 ms: a drain of 256 KiB held a CPU for 0.5 ms, longer than the
    /// server's queue of work, and on a machine the server and its clients fill, whichever of them waited for it lost
    /// that time (docs/performance.md, "Shorter drains under load"). A light load still drains at the poll.
    /// </summary>
    public long WakeupBytes { get; init; } = DefaultWakeupBytes;

    /// <summary>
    /// <see cref="WakeupBytes"/> as each CPU counts it: at most a quarter of the ring shared out among the CPUs, so that
    /// the CPUs together never leave more than that waiting unannounced, however many the machine has or however small
    /// the ring (--ring-size): records past a full ring are lost.
    /// </summary>
    public long WakeupBytesPerCpu(int cpus) => Math.Max(1, Math.Min(WakeupBytes, RingBufferBytes / (4L * Math.Max(1, cpus))));

    /// <summary>The default <see cref="WakeupBytes"/>: the full trace's.</summary>
    public const long DefaultWakeupBytes = 32 << 10;

    /// <summary>
    /// <see cref="WakeupBytes"/> for a trace that counts its messages instead of writing them (--stats): with no
    /// record to write, a drain of 128 KiB took a saturated nginx's throughput no more than one of 32 KiB did (paired
    /// 0.91 against 0.89, 0.92 against 0.91), for a quarter of the wake-ups and 29-38 % less of tattle's CPU per request
    /// (docs/performance.md, "A counting trace and the agent drain four times the bytes a wake-up"). The agent without
    /// --json, whose messages feed metrics and batched spans, waits for as much.
    /// </summary>
    public const long CountingWakeupBytes = 128 << 10;

    /// <summary>TCP payload calls only advance the byte counts in the kernel: no data events (--no-payload).</summary>
    public bool NoStreamPayload { get; init; }

    /// <summary>The syscall tracepoints are not attached: TCP sockets are learnt from their state changes (--packets-only).</summary>
    public bool NoSyscalls { get; init; }

    /// <summary>
    /// Payloads come from the socket layer's send/receive tracepoints instead of the syscall programs (--no-syscalls,
    /// with <see cref="NoSyscalls"/>): only socket calls pay for tracing, not every syscall of the machine.
    /// </summary>
    public bool SocketPayload { get; init; }

    /// <summary>
    /// Where the kernel has the socket layer's tracepoints (6.3, the fast build), payloads come from them and the
    /// syscall programs run only on the per-call tracepoints of the calls the socket layer does not show (close,
    /// connect, accept, bind...), so other syscalls run no program. Off: raw sys_enter/sys_exit (--raw-syscalls).
    /// </summary>
    public bool PerCallSyscalls { get; init; }

    /// <summary>
    /// HTTP/1 requests are counted by the kernel programs, with no data record (--stats-in-kernel): a TCP socket whose
    /// first payload begins like HTTP/1 makes one record per batch of up to 32 requests (bpf/tattle.h, tattle_http_event).
    /// </summary>
    public bool KernelHttp { get; init; }

    /// <summary>
    /// Stream payloads consult the body_skips map: the rest of a long body the parser only counts is not copied
    /// (<see cref="BodySkipMap"/>). Off when bodies are kept (--body-limit) or payloads shown (--data).
    /// </summary>
    public bool BodySkip { get; init; }

    /// <summary>Uprobes follow the traced processes: forks and execs also go to the spawns ring (<see cref="SpawnWatcher"/>).</summary>
    public bool Spawns { get; init; }

    /// <summary>TLS probes will be attached: payload syscalls inside TLS calls bind sessions to their sockets.</summary>
    public bool Tls { get; init; }

    /// <summary>Which build of the programs to load; Auto takes the best the kernel allows.</summary>
    public BpfVariantRequest Variant { get; init; }

    /// <summary>Also trace every process that execs with this name (at most 15 bytes), or null.</summary>
    public string? Comm { get; init; }
}
