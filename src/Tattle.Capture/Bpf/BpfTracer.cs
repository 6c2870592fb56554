using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using Tattle.Interop;

namespace Tattle.Capture.Bpf;

/// <summary>
/// The loaded and attached kernel side (bpf/tattle.bpf.c): its maps and links. Processes are traced once
/// added with <see cref="Trace"/>; their children follow automatically. Dispose detaches everything.
/// </summary>
public sealed unsafe class BpfTracer : IDisposable
{
    /// <summary>Resource name of the embedded object (the fast variant).</summary>
    public const string ObjectResource = "bpf/tattle.bpf.o";

    /// <summary>Resource name of the fallback variant, the same source built with TATTLE_FALLBACK.</summary>
    public const string FallbackResource = "bpf/tattle.bpf.fallback.o";

    // The socket layer's payload programs (--no-syscalls): only in the fast build, loaded only when asked for, so the
    // build still loads on a kernel without the tracepoints (before 6.3).
    private static readonly string[] SocketPrograms = ["tattle_sock_send", "tattle_sock_recv"];

    private static readonly string[] RawSyscallPrograms = ["tattle_sys_enter", "tattle_sys_exit"];

    // The per-call syscall programs (PerCallSyscalls): one program each, attached to many tracepoints; also only in
    // the fast build.
    private const string CallEnterProgram = "tattle_syscall_tp_enter";
    private const string CallExitProgram = "tattle_syscall_tp_exit";
    private static readonly string[] CallPrograms = [CallEnterProgram, CallExitProgram];

    // The calls the socket layer does not show, on syscalls:sys_exit_<call> (arguments read back from the registers);
    // close on sys_enter_close, while its fd still names the socket. The payload calls are not here: their bytes come
    // from sock_send_length/sock_recv_length, but for the multi-message calls, whose messages those do not tell apart,
    // and a datagram socket's recvfrom/recvmsg, whose sender is written to the caller after those fire.
    private static readonly string[] CallTracepoints =
        ["sys_enter_close", .. new[] { "socket", "connect", "accept", "accept4", "bind", "listen", "shutdown", "io_uring_setup",
            "sendmmsg", "recvmmsg", "recvfrom", "recvmsg" }.Select(call => "sys_exit_" + call)];

    private static readonly string[] AttachOrder =
        ["tattle_fork", "tattle_exec", "tattle_exit", "tattle_tcp_state", .. RawSyscallPrograms, .. SocketPrograms];


    private readonly BpfObjectHandle _object;
    private readonly List<BpfLinkHandle> _links = [];
    private readonly int _tracedFd;
    private readonly int _statsFd;
    private readonly int _wakeAccFd;
    private ulong[]? _wakeAccFull;
    private readonly int _cpus;
    private ExecMatches _execMatches = new();
    private ulong[] _callIds = []; // the ids of CallTracepoints, in order
    private string? _perCallRefused; // why the per-call tracepoints were asked for and not used

    private BpfTracer(BpfObjectHandle obj, TracerOptions options, bool uprobeMulti, BpfVariant variant)
    {
        _object = obj;
        UprobeMulti = uprobeMulti;
        Variant = variant;
        Options = options;
        _tracedFd = MapFd("traced");
        _statsFd = MapFd("stats");
        EventsFd = MapFd("events");
        SpawnsFd = MapFd("spawns");
        _wakeAccFd = MapFd("wake_acc");
        _cpus = Libbpf.NumPossibleCpus();
        BodySkips = options.BodySkip ? new BodySkipMap(MapFd("body_skips"), MapFd("body_skips_live")) : null;
    }

    /// <summary>
    /// Asks the kernel programs to wake the ring's consumer at the next record, whatever its size: the consumer is
    /// about to sleep past its usual poll. Each CPU's count of the bytes it wrote since it last woke the consumer is
    /// set to <see cref="TracerOptions.WakeupBytesPerCpu"/>, so each CPU's next record wakes it (and restarts the count).
    /// A record being written meanwhile may overwrite its CPU's count: that wake-up then waits for the next poll.
    /// </summary>
    public void WakeOnNextRecord()
    {
        uint key = 0;
        _wakeAccFull ??= Enumerable.Repeat((ulong)Options.WakeupBytesPerCpu(_cpus), _cpus).ToArray(); // one slot per possible CPU
        fixed (ulong* full = _wakeAccFull)
        {
            Errno.ThrowIfNegative(Libbpf.MapUpdateElem(_wakeAccFd, &key, full, 0), "asking for a wake-up at the next record");
        }
    }

    /// <summary>Where parsers ask the kernel not to copy the rest of a body (null unless <see cref="TracerOptions.BodySkip"/>).</summary>
    public IBodySkips? BodySkips { get; }

    public TracerOptions Options { get; }

    /// <summary>How syscalls are traced, as the kernel allowed: said by --verbose.</summary>
    public string SyscallPath => Options.NoSyscalls ? "none (payloads from the socket layer, connections from TCP states)"
        : Options.PerCallSyscalls ? $"their own tracepoints ({string.Join(", ", CallTracepoints.Select(t => t[(t.IndexOf('_', 4) + 1)..]))}), payloads from the socket layer"
        : "every syscall (raw sys_enter/sys_exit)" + (_perCallRefused is null ? "" : $"; the per-call tracepoints {_perCallRefused}");

    /// <summary>The kernel has uprobe_multi links (6.6+): one link per library and process for the TLS probes.</summary>
    public bool UprobeMulti { get; }

    /// <summary>The build of the programs that was loaded.</summary>
    public BpfVariant Variant { get; }

    /// <summary>The ring buffer map's fd.</summary>
    public int EventsFd { get; }

    /// <summary>The spawns ring's fd: forks and execs of traced processes when <see cref="TracerOptions.Spawns"/>.</summary>
    public int SpawnsFd { get; }

    internal BpfObjectHandle Handle => _object;

    /// <summary>Opens the embedded object, applies the options, loads it and attaches every program.</summary>
    public static BpfTracer Load(TracerOptions options)
    {
        LibbpfLog.Install();
        var features = KernelFeatures.Current;
        var choice = VariantChoice.Choose(features, options.Variant);
        if (choice.Variant is not { } variant)
        {
            throw new BpfUnsupportedException(choice.Reason);
        }
        string? missing = SocketPayloadMissing(features, variant);
        if (options.SocketPayload && missing is not null)
        {
            throw new BpfUnsupportedException($"--no-syscalls needs {missing}");
        }
        // Asked for where the kernel allows it, else the raw syscall path: both trace the same calls.
        string? perCallRefused = null;
        ulong[]? callIds = null;
        if (options.PerCallSyscalls && !options.NoSyscalls)
        {
            if (missing is not null)
            {
                perCallRefused = $"need {missing}";
            }
            else
            {
                callIds = SyscallTracepoints.ReadIds(CallTracepoints, out perCallRefused);
            }
        }
        bool perCall = callIds is not null;
        options = options with { PerCallSyscalls = perCall, SocketPayload = options.SocketPayload || perCall };
        var bytes = ReadObject(variant);
        var (uprobes, multi) = UprobeModes(features);
        var obj = Open(bytes, options, multi, uprobes);
        BpfTracer? tracer = null;
        try
        {
            int err = Libbpf.ObjectLoad(obj.DangerousGetHandle());
            if (err < 0 && multi)
            {
                // The probe said yes, the load says no (a backport without the attach type): load again without it.
                obj.Dispose();
                obj = Open(bytes, options, uprobeMulti: false, uprobes);
                multi = false;
                err = Libbpf.ObjectLoad(obj.DangerousGetHandle());
            }
            if (err < 0)
            {
                throw new BpfLoadException("loading the BPF programs", -err, LibbpfLog.Tail(40));
            }
            tracer = new BpfTracer(obj, options, multi, variant) { _callIds = callIds ?? [], _perCallRefused = perCallRefused };
            if (!string.IsNullOrEmpty(options.Comm))
            {
                tracer.SetExecMatches(new ExecMatches { Comms = new Dictionary<string, TraceDepth> { [options.Comm] = TraceDepth.Payload } });
            }
            tracer.AttachAll();
            return tracer;
        }
        catch
        {
            if (tracer is not null)
            {
                tracer.Dispose();
            }
            else
            {
                obj.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// Loads a variant's programs into the kernel and unloads them at once, attaching nothing: whether the verifier
    /// takes them here, with the log's tail when not (`tattle doctor`).
    /// </summary>
    public static VariantLoad TryLoad(BpfVariant variant)
    {
        LibbpfLog.Install();
        var features = KernelFeatures.Current; // before the log is cleared: the probes' refusals are not this load's
        LibbpfLog.Clear();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var (uprobes, multi) = UprobeModes(features);
        using var obj = Open(ReadObject(variant), new TracerOptions(), multi, uprobes);
        int err = Libbpf.ObjectLoad(obj.DangerousGetHandle());
        int programs = 0;
        for (IntPtr prog = Libbpf.NextProgram(obj.DangerousGetHandle(), IntPtr.Zero); prog != IntPtr.Zero;
             prog = Libbpf.NextProgram(obj.DangerousGetHandle(), prog))
        {
            programs += Libbpf.ProgramFd(prog) >= 0 ? 1 : 0;
        }
        return new VariantLoad(variant, err == 0, programs, System.Diagnostics.Stopwatch.GetElapsedTime(started),
            err == 0 ? [] : [$"{Errno.Name(-err)} ({Errno.Describe(-err)})", .. LibbpfLog.Tail(8)]);
    }

    /// <summary>Uprobe programs can load: uprobes exist and bpf_get_attach_cookie tells them which function fired.</summary>
    public static bool HasUprobes(KernelFeatures features) => UprobesMissing(features) is null;

    /// <summary>What the kernel lacks for uprobes (TLS plaintext, `probe`), or null when it has it all.</summary>
    public static string? UprobesMissing(KernelFeatures features) =>
        !features.Has(KernelCapability.Uprobes) ? $"uprobes, which this kernel ({features.Release}) lacks (CONFIG_UPROBE_EVENTS)"
        : !features.Has(KernelCapability.AttachCookie) ? $"attach cookies (Linux 5.15), which this kernel ({features.Release}) lacks"
        : null;

    /// <summary>What payloads from the socket layer (--no-syscalls) need that this kernel or build lacks, or null.</summary>
    public static string? SocketPayloadMissing(KernelFeatures features, BpfVariant variant) =>
        !features.Has(KernelCapability.SockLengthTracepoints) ? $"the sock_send_length and sock_recv_length tracepoints (Linux 6.3), which this kernel ({features.Release}) lacks"
        : !features.Has(KernelCapability.TaskPtRegs) ? $"bpf_task_pt_regs (Linux 5.15), which this kernel ({features.Release}) lacks"
        : variant != BpfVariant.Fast ? "the fast build of the kernel programs (--bpf-variant fast)"
        : null;

    // Whether the uprobe programs load at all, and whether as uprobe_multi programs.
    private static (bool Uprobes, bool Multi) UprobeModes(KernelFeatures features) =>
        (HasUprobes(features), HasUprobes(features) && features.Has(KernelCapability.UprobeMulti));

    /// <summary>The compiled object of a variant, embedded at build time.</summary>
    public static byte[] ReadObject(BpfVariant variant = BpfVariant.Fast) =>
        EmbeddedObject.Read(variant == BpfVariant.Fast ? ObjectResource : FallbackResource);

    private static BpfObjectHandle Open(byte[] bytes, TracerOptions options, bool uprobeMulti, bool uprobes)
    {
        IntPtr obj = EmbeddedObject.Open(bytes, "tattle\0"u8);
        Errno.ThrowIfNull(obj, "opening the BPF object");
        var handle = new BpfObjectHandle(obj);
        try
        {
            Configure(obj, options);
            foreach (var (names, wanted) in new[] { (SocketPrograms, options.SocketPayload), (CallPrograms, options.PerCallSyscalls),
                (RawSyscallPrograms, !options.PerCallSyscalls) })
            {
                foreach (var name in names)
                {
                    IntPtr prog = Libbpf.FindProgramByName(obj, name);
                    if (prog != IntPtr.Zero && !wanted)
                    {
                        Errno.ThrowIfNegative(Libbpf.ProgramSetAutoload(prog, false), $"leaving out {name}");
                    }
                }
            }
            foreach (var name in Uprobes.UprobePrograms.All.SelectMany(p => (string[])[p.EnterMulti, p.ExitMulti]))
            {
                IntPtr prog = Libbpf.FindProgramByName(obj, name);
                if (prog == IntPtr.Zero)
                {
                    throw new InvalidOperationException($"BPF program {name} missing from the object");
                }
                Errno.ThrowIfNegative(uprobeMulti ? Libbpf.ProgramSetExpectedAttachType(prog, BpfSyscall.TraceUprobeMulti)
                    : Libbpf.ProgramSetAutoload(prog, false), $"preparing {name}");
            }
            if (!uprobes)
            {
                // Every uprobe program asks which function fired (bpf_get_attach_cookie, 5.15): where the kernel has
                // no cookies they cannot load, and the rest must not fail with them.
                for (IntPtr prog = Libbpf.NextProgram(obj, IntPtr.Zero); prog != IntPtr.Zero; prog = Libbpf.NextProgram(obj, prog))
                {
                    string section = new((sbyte*)Libbpf.ProgramSectionName(prog));
                    if (section.StartsWith("uprobe", StringComparison.Ordinal) || section.StartsWith("uretprobe", StringComparison.Ordinal))
                    {
                        Errno.ThrowIfNegative(Libbpf.ProgramSetAutoload(prog, false), $"leaving out {section}");
                    }
                }
            }
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static void Configure(IntPtr obj, TracerOptions options)
    {
        IntPtr rodata = Libbpf.FindMapByName(obj, ".rodata");
        if (rodata == IntPtr.Zero)
        {
            throw new InvalidOperationException("the BPF object has no .rodata map");
        }
        nuint size;
        Libbpf.MapInitialValue(rodata, &size);
        if (size != (nuint)sizeof(NativeConfig))
        {
            // struct tattle_config must be the only .rodata variable: its offset is then 0.
            throw new InvalidOperationException(
                $".rodata is {size} bytes, struct tattle_config {sizeof(NativeConfig)}: only cfg may live in .rodata");
        }
        var cfg = new NativeConfig
        {
            Snaplen = (uint)Math.Max(0, options.Snaplen),
            SelfTgid = (uint)Environment.ProcessId,
            WakeupBytes = (ulong)options.WakeupBytesPerCpu(Libbpf.NumPossibleCpus()),
            Flags = (options.NoStreamPayload ? 1u : 0u) // TATTLE_CFG_NO_STREAM_PAYLOAD
                | (options.Tls ? 2u : 0u) // TATTLE_CFG_TLS
                | (options.NoSyscalls ? 4u : 0u) // TATTLE_CFG_NO_SYSCALLS
                | (options.SocketPayload ? 8u : 0u) // TATTLE_CFG_SOCK_PAYLOAD
                | (options.KernelHttp ? 16u : 0u) // TATTLE_CFG_KERNEL_HTTP
                | (options.BodySkip ? 32u : 0u) // TATTLE_CFG_BODY_SKIP
                | (options.Spawns ? 64u : 0u), // TATTLE_CFG_SPAWNS
        };
        Errno.ThrowIfNegative(Libbpf.MapSetInitialValue(rodata, &cfg, (nuint)sizeof(NativeConfig)), "setting the BPF configuration");
        IntPtr events = Libbpf.FindMapByName(obj, "events");
        Errno.ThrowIfNegative(Libbpf.MapSetMaxEntries(events, (uint)options.RingBufferBytes), "sizing the ring buffer");
    }

    private void AttachAll()
    {
        IntPtr obj = _object.DangerousGetHandle();
        foreach (var name in AttachOrder)
        {
            if ((Options.NoSyscalls || Options.PerCallSyscalls) && RawSyscallPrograms.Contains(name))
            {
                continue; // every syscall of the machine would pay for them
            }
            if (!Options.SocketPayload && SocketPrograms.Contains(name))
            {
                continue;
            }
            IntPtr prog = Libbpf.FindProgramByName(obj, name);
            if (prog == IntPtr.Zero)
            {
                throw new InvalidOperationException($"BPF program {name} missing from the object");
            }
            IntPtr link = Libbpf.ProgramAttach(prog);
            if (link == IntPtr.Zero)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                throw new BpfLoadException($"attaching {name}", errno, LibbpfLog.Tail(10));
            }
            _links.Add(new BpfLinkHandle(link, _object));
        }
        for (int i = 0; Options.PerCallSyscalls && i < CallTracepoints.Length; i++)
        {
            AttachSyscallTracepoint(CallTracepoints[i].StartsWith("sys_enter_", StringComparison.Ordinal) ? CallEnterProgram : CallExitProgram,
                CallTracepoints[i], _callIds[i]);
        }
    }

    private void AttachSyscallTracepoint(string program, string tracepoint, ulong id)
    {
        IntPtr prog = Libbpf.FindProgramByName(_object.DangerousGetHandle(), program);
        if (prog == IntPtr.Zero)
        {
            throw new InvalidOperationException($"BPF program {program} missing from the object");
        }
        int fd = PerfEvent.OpenTracepoint(id);
        IntPtr link = Libbpf.ProgramAttachPerfEvent(prog, fd);
        if (link == IntPtr.Zero)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            Libc.Close(fd);
            throw new BpfLoadException($"attaching {program} to syscalls:{tracepoint}", errno, LibbpfLog.Tail(10));
        }
        _links.Add(new BpfLinkHandle(link, _object));
    }

    private int MapFd(string name)
    {
        IntPtr map = Libbpf.FindMapByName(_object.DangerousGetHandle(), name);
        if (map == IntPtr.Zero)
        {
            throw new InvalidOperationException($"BPF map {name} missing from the object");
        }
        return Errno.ThrowIfNegative(Libbpf.MapFd(map), $"fd of map {name}");
    }

    /// <summary>
    /// Attaches the entry or return program of <paramref name="programs"/> to <paramref name="fileOffset"/> of the
    /// ELF file at <paramref name="path"/>, for process <paramref name="pid"/> only: the kernel installs the
    /// breakpoint in that process's memory alone, now or when it maps the file later, so other processes never trap.
    /// </summary>
    public BpfLinkHandle AttachUprobe(Uprobes.UprobePrograms programs, int pid, string path, ulong fileOffset, ulong cookie, bool atReturn, ulong refCtrOffset = 0)
    {
        string name = atReturn ? programs.Exit : programs.Enter;
        IntPtr prog = Libbpf.FindProgramByName(_object.DangerousGetHandle(), name);
        if (prog == IntPtr.Zero)
        {
            throw new InvalidOperationException($"BPF program {name} missing from the object");
        }
        var opts = new Libbpf.UprobeOptions
        {
            Size = (nuint)sizeof(Libbpf.UprobeOptions),
            BpfCookie = cookie,
            RefCtrOffset = (nuint)refCtrOffset,
            Retprobe = atReturn ? (byte)1 : (byte)0,
        };
        IntPtr link = Libbpf.ProgramAttachUprobe(prog, pid, path, (nuint)fileOffset, &opts);
        if (link == IntPtr.Zero)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new BpfLoadException($"attaching a uprobe to {path}+0x{fileOffset:x} in pid {pid}", errno, LibbpfLog.Tail(5));
        }
        return new BpfLinkHandle(link, _object);
    }

    /// <summary>
    /// Attaches the entry or return program of <paramref name="programs"/> to every offset of one ELF file, for one
    /// process, as a single uprobe_multi link (see <see cref="UprobeMulti"/>); each offset's cookie says what is there.
    /// </summary>
    public Microsoft.Win32.SafeHandles.SafeFileHandle AttachUprobes(Uprobes.UprobePrograms programs, int pid, string path, ReadOnlySpan<ulong> offsets, ReadOnlySpan<ulong> cookies, bool atReturn, ReadOnlySpan<ulong> refCtrOffsets = default)
    {
        string name = atReturn ? programs.ExitMulti : programs.EnterMulti;
        IntPtr prog = Libbpf.FindProgramByName(_object.DangerousGetHandle(), name);
        int fd = prog == IntPtr.Zero ? -1 : Libbpf.ProgramFd(prog);
        if (fd < 0)
        {
            throw new InvalidOperationException($"the uprobe_multi program {name} is not loaded");
        }
        return BpfSyscall.AttachUprobeMulti(fd, path, offsets, cookies, atReturn, pid, refCtrOffsets);
    }

    /// <summary>Tells the function probes where the arguments of the USDT site numbered <paramref name="index"/> are.</summary>
    public void SetUsdtSpec(int index, ReadOnlySpan<Elf.UsdtArgument> args)
    {
        var spec = default(NativeUsdtSpec);
        int n = Math.Min(args.Length, NativeUsdtSpec.Arguments);
        for (int i = 0; i < n; i++)
        {
            var a = args[i];
            spec[i] = new NativeUsdtArg
            {
                Val = a.Value,
                RegOff = (short)a.RegOffset,
                Kind = a.Kind switch { Elf.UsdtArgumentKind.Constant => 0, Elf.UsdtArgumentKind.Register => 1, _ => 2 },
                Size = (byte)a.Size,
                IsSigned = a.Signed ? (byte)1 : (byte)0,
            };
        }
        spec.NArgs = (uint)n;
        uint key = (uint)index;
        Errno.ThrowIfNegative(Libbpf.MapUpdateElem(MapFd("usdt_specs"), &key, &spec, 0), $"describing USDT site {index}");
    }

    /// <summary>Traces the process (TGID) and, from now on, its children, with their payload or without.</summary>
    public void Trace(int tgid, TraceDepth depth = TraceDepth.Payload)
    {
        uint key = (uint)tgid, value = TracedValue(depth);
        Errno.ThrowIfNegative(Libbpf.MapUpdateElem(_tracedFd, &key, &value, 0), $"tracing pid {tgid}");
    }

    /// <summary>
    /// Replaces the processes the kernel starts tracing when they exec (bpf/tattle.bpf.c's match maps): the new
    /// keys go in first and only then are the old ones no longer wanted taken out, so a rescan never leaves a
    /// moment in which a still-wanted process could exec unmatched; a reload that drops a target stops adding its
    /// processes.
    /// </summary>
    public void SetExecMatches(ExecMatches matches)
    {
        Replace(MapFd("match_comm"), _execMatches.Comms, matches.Comms, CommKey, "the name");
        Replace(MapFd("match_exe"), _execMatches.Exes, matches.Exes, e => new NativeExeKey { Ino = e.Inode, Dev = e.KernelDevice }, "the executable");
        Replace(MapFd("match_uid"), _execMatches.Uids, matches.Uids, u => u, "uid");
        Replace(MapFd("match_cgroup"), _execMatches.Cgroups, matches.Cgroups, c => c, "cgroup");
        uint zero = 0, any = matches.All is { } d ? TracedValue(d) : 0;
        Errno.ThrowIfNegative(Libbpf.MapUpdateElem(MapFd("match_all"), &zero, &any, 0), "matching every process");
        _execMatches = matches;
    }

    private static void Replace<TKey, TNative>(int fd, IReadOnlyDictionary<TKey, TraceDepth> old, IReadOnlyDictionary<TKey, TraceDepth> next,
        Func<TKey, TNative> native, string what)
        where TKey : notnull
        where TNative : unmanaged
    {
        foreach (var (key, depth) in next)
        {
            var k = native(key);
            uint value = TracedValue(depth);
            Errno.ThrowIfNegative(Libbpf.MapUpdateElem(fd, &k, &value, 0), $"matching {what} {key}");
        }
        foreach (var key in old.Keys.Where(k => !next.ContainsKey(k)))
        {
            var k = native(key);
            Libbpf.MapDeleteElem(fd, &k);
        }
    }

    // TATTLE_TRACE_ON, | TATTLE_TRACE_NO_PAYLOAD for connections only.
    private static uint TracedValue(TraceDepth depth) => depth == TraceDepth.ConnectionsOnly ? 3u : 1u;

    private static CommBytes CommKey(string comm)
    {
        var key = default(CommBytes);
        var bytes = Encoding.UTF8.GetBytes(comm);
        // The kernel keeps 15 bytes of a name and a NUL: a longer name matches by its first 15.
        bytes.AsSpan(0, Math.Min(bytes.Length, 15)).CopyTo(key);
        return key;
    }

    [InlineArray(16)]
    private struct CommBytes
    {
        private byte _b;
    }

    /// <summary>Stops tracing the process (its future children are not added either).</summary>
    public void Untrace(int tgid)
    {
        uint key = (uint)tgid;
        Libbpf.MapDeleteElem(_tracedFd, &key);
    }

    /// <summary>Whether the kernel side still traces the process.</summary>
    public bool IsTraced(int tgid)
    {
        uint key = (uint)tgid, value;
        return Libbpf.MapLookupElem(_tracedFd, &key, &value) == 0;
    }

    /// <summary>
    /// --stats-in-kernel: hands <paramref name="decoder"/> the requests the kernel counted on connections still open
    /// (theirs are written when they close), as the records it would have written. Each entry is taken out of the
    /// table in one step, so its counts are read here or were written to the ring by the kernel, never both: drain the
    /// ring after this.
    /// </summary>
    public void DrainHttpCounts(EventDecoder decoder)
    {
        if (!Options.KernelHttp)
        {
            return;
        }
        int fd = MapFd("http_conns");
        int valueSize = sizeof(NativeHttpEvent) + sizeof(ulong); // struct http_conn: the record, then start_ns
        var value = new byte[valueSize];
        ulong key = 0;
        bool atomic = true;
        fixed (byte* v = value)
        {
            // Always the first key: the one before it is gone. New connections may keep adding entries meanwhile:
            // at most twice the table's size is read.
            for (ulong n = 0; n < 2 * KernelStats.HttpConnectionsCapacity && Libbpf.MapGetNextKey(fd, null, &key) == 0; n++)
            {
                if (!TakeEntry(fd, &key, v, ref atomic))
                {
                    continue;
                }
                ref var e = ref Unsafe.AsRef<NativeHttpEvent>(v);
                if (e.Count == 0 && e.ReqBytes == 0 && e.RespBytes == 0)
                {
                    continue;
                }
                e.H.TsNs = (ulong)Libc.Now(Libc.CLOCK_MONOTONIC);
                decoder.Dispatch(value.AsSpan(0, sizeof(NativeHttpEvent)));
            }
        }
    }

    // BPF_MAP_LOOKUP_AND_DELETE_ELEM takes hash maps from 5.14; before, a lookup then a delete (a request counted in
    // between is lost, and one written to the ring in between is counted twice: a window of microseconds at exit).
    private static bool TakeEntry(int fd, ulong* key, byte* value, ref bool atomic)
    {
        if (atomic)
        {
            if (Libbpf.MapLookupAndDeleteElem(fd, key, value) == 0)
            {
                return true;
            }
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno is not (Errno.EINVAL or Errno.ENOTSUPP or Errno.EOPNOTSUPP))
            {
                return false; // gone meanwhile (ENOENT)
            }
            atomic = false;
        }
        bool found = Libbpf.MapLookupElem(fd, key, value) == 0;
        Libbpf.MapDeleteElem(fd, key);
        return found;
    }

    /// <summary>Sums the per-CPU counters.</summary>
    public KernelStats ReadStats()
    {
        Span<ulong> totals = stackalloc ulong[KernelStats.Count];
        totals.Clear(); // a counter that cannot be read stays 0
        var perCpu = new ulong[_cpus];
        fixed (ulong* values = perCpu)
        {
            for (uint i = 0; i < KernelStats.Count; i++)
            {
                uint key = i;
                if (Libbpf.MapLookupElem(_statsFd, &key, values) != 0)
                {
                    continue;
                }
                ulong sum = 0;
                for (int c = 0; c < _cpus; c++)
                {
                    sum += values[c];
                }
                totals[(int)i] = sum;
            }
        }
        return KernelStats.FromCounters(totals);
    }

    public void Dispose()
    {
        // raw_tp links close in milliseconds, a tracepoint's (perf event) in 25-140 ms: each waits for the kernel's
        // grace periods, which closes in parallel share. Links go before the object.
        var closing = _links.Select(link => new Thread(link.Dispose) { Name = "link close" }).ToList();
        closing.ForEach(thread => thread.Start());
        closing.ForEach(thread => thread.Join());
        _links.Clear();
        _object.Dispose();
    }
}

/// <summary>The kernel refused to load or attach a program; <see cref="Log"/> holds libbpf's last lines.</summary>
public sealed class BpfLoadException(string what, int errno, IReadOnlyList<string> log)
    : Exception($"{what}: {Errno.Name(errno)} ({Errno.Describe(errno)})")
{
    public int ErrorNumber { get; } = errno;

    public IReadOnlyList<string> Log { get; } = log;
}

/// <summary>What <see cref="BpfTracer.TryLoad"/> found: loaded or not, how many programs, how long, and the log when refused.</summary>
public sealed record VariantLoad(BpfVariant Variant, bool Loaded, int Programs, TimeSpan Took, IReadOnlyList<string> Error);

/// <summary>No variant of the programs can load on this kernel, or not the one asked for; the message says why.</summary>
public sealed class BpfUnsupportedException(string reason) : Exception(reason);

/// <summary>How much of a traced process the kernel copies.</summary>
public enum TraceDepth
{
    /// <summary>Connections and their payload.</summary>
    Payload,

    /// <summary>Connections and byte counts; stream payload is counted, not copied (datagrams still are: DNS).</summary>
    ConnectionsOnly,
}

/// <summary>Processes the kernel starts tracing when they exec: by name, real uid, cgroup id, or every one.</summary>
public sealed record ExecMatches
{
    public IReadOnlyDictionary<string, TraceDepth> Comms { get; init; } = new Dictionary<string, TraceDepth>();

    /// <summary>Executables by inode (<see cref="Proc.ExeKey.Of"/>): every name and link of the file matches.</summary>
    public IReadOnlyDictionary<Proc.ExeKey, TraceDepth> Exes { get; init; } = new Dictionary<Proc.ExeKey, TraceDepth>();

    public IReadOnlyDictionary<uint, TraceDepth> Uids { get; init; } = new Dictionary<uint, TraceDepth>();

    /// <summary>cgroup v2 ids (the inode number of the cgroup's directory).</summary>
    public IReadOnlyDictionary<ulong, TraceDepth> Cgroups { get; init; } = new Dictionary<ulong, TraceDepth>();

    /// <summary>Every process that execs, at this depth; null: off.</summary>
    public TraceDepth? All { get; init; }
}
