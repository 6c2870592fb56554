using Tattle.Capture.Bpf;
using Tattle.Output;
using Tattle.Output.Console;
using Tattle.Tracking.Streams;

namespace Tattle.Cli.Tracing;

/// <summary>The options shared by run and attach, after parsing.</summary>
internal sealed record TraceConfig
{
    public string? JsonPath { get; init; }

    /// <summary>--port, --host, --app: the records shown, written and summarised (never what -w captures).</summary>
    public RecordFilter Filter { get; init; } = new();

    public bool Data { get; init; }

    public int Snaplen { get; init; }

    public string? OutputPath { get; init; }

    public bool Quiet { get; init; }

    public bool Verbose { get; init; }

    public int RingBufferBytes { get; init; }

    /// <summary>--bpf-variant: which build of the kernel programs to load.</summary>
    public BpfVariantRequest BpfVariant { get; init; }

    /// <summary>--copy-bodies: the kernel copies body bytes the parser only counts, rather than skipping them.</summary>
    public bool CopyBodies { get; init; }

    /// <summary>Bodies the parser only counts are skipped in the kernel: not when payloads are shown or not parsed.</summary>
    public bool BodySkip => !CopyBodies && !Data && !NoPayload && Streams.Enabled && Snaplen > 0;

    /// <summary>--no-payload: TCP payload calls only advance the kernel's byte counts.</summary>
    public bool NoPayload { get; init; }

    /// <summary>--packets-only: no syscall tracepoints; TCP sockets learnt from their state changes.</summary>
    public bool PacketsOnly { get; init; }

    /// <summary>--stats: messages counted per endpoint and route, not written as records.</summary>
    public bool Stats { get; init; }

    /// <summary>Messages feed the agent's metrics and batched spans: none is written as the drain reads it, unless to --json.</summary>
    public bool Aggregates { get; init; }

    /// <summary>The bytes of records that wait on a CPU before the kernel wakes tattle: more when no message is written.</summary>
    public long WakeupBytes => Stats || (Aggregates && JsonPath is null) ? TracerOptions.CountingWakeupBytes : TracerOptions.DefaultWakeupBytes;

    /// <summary>
    /// --http-in-kernel, --stats-in-kernel: HTTP/1 requests read by the kernel programs, which write one record each
    /// (or count them, with <see cref="Stats"/>).
    /// </summary>
    public bool HttpInKernel { get; init; }

    /// <summary>--no-syscalls: payloads from the socket layer's tracepoints; no syscall tracepoints.</summary>
    public bool NoSyscalls { get; init; }

    /// <summary>--raw-syscalls: programs on every syscall, not payloads from the socket layer and per-call tracepoints for the rest.</summary>
    public bool RawSyscalls { get; init; }

    /// <summary>TLS plaintext through uprobes on the traced processes' TLS libraries (off with --no-tls or --no-payload).</summary>
    public bool Tls { get; init; }

    /// <summary>Packet capture into pcapng (-w); null when not asked for.</summary>
    public PacketCaptureConfig? Packets { get; init; }

    /// <summary>How the live view shows its lines: --time, --no-process-lines.</summary>
    public LiveViewConfig View { get; init; } = new();

    /// <summary>Reassembly and parsing: --proto, --body-limit, --no-redact, --stream-buffer, --no-parse.</summary>
    public StreamSettings Streams { get; init; } = new();

    /// <summary>The summary at the end (the agent, which runs for days, has its metrics instead).</summary>
    public bool Summary { get; init; } = true;

    /// <summary>Function probes (tattle probe); null for run and attach.</summary>
    public ProbeConfig? Probes { get; init; }
}

/// <summary>tattle probe's specs and options.</summary>
internal sealed record ProbeConfig
{
    public required IReadOnlyList<Tattle.Capture.Probes.ProbeSpec> Specs { get; init; }

    /// <summary>--count: the per-function table only, no record per call.</summary>
    public bool CountOnly { get; init; }

    /// <summary>--max-probes: functions probed at most.</summary>
    public int MaxProbes { get; init; } = DefaultMaxProbes;

    /// <summary>Enough for every export of libzmq or libcurl; a glob over libc's 3000 needs it raised.</summary>
    public const int DefaultMaxProbes = 1000;
}

/// <summary>The live view's options.</summary>
internal sealed record LiveViewConfig
{
    /// <summary>--time abs: times of day instead of seconds since the start.</summary>
    public bool AbsoluteTime { get; init; }

    /// <summary>--no-process-lines turns process start, exec and exit lines off.</summary>
    public bool ProcessLines { get; init; } = true;

    /// <summary>--live-rate's default: a sample a human can follow, and a view that costs little on a saturated server.</summary>
    public const int DefaultLinesPerSecond = 1000;

    /// <summary>--live-rate: lines per second before they are folded (0: every line).</summary>
    public int MaxLinesPerSecond { get; init; }

    /// <summary>A live view with these options; it owns <paramref name="writer"/>.</summary>
    public LiveView Open(TextWriter writer, bool color, long startUnixNs, int? width) =>
        new(writer, color, startUnixNs, ownsWriter: true) { AbsoluteTime = AbsoluteTime, ProcessLines = ProcessLines, Width = width, MaxLinesPerSecond = MaxLinesPerSecond };
}

/// <summary>-w FILE and its companions.</summary>
internal sealed record PacketCaptureConfig
{
    /// <summary>What tcpdump captures by default: whole packets.</summary>
    public const int DefaultSnaplen = 262144;

    public required string Path { get; init; }

    public string Interface { get; init; } = "any";

    public string? Filter { get; init; }

    public bool AllPackets { get; init; }

    public int Snaplen { get; init; } = DefaultSnaplen;

    /// <summary>--tls-plaintext: TLS plaintext also goes into the file, as packets of a second, synthetic interface.</summary>
    public bool TlsPlaintext { get; init; }
}
