using System.Security.Cryptography;
using Tattle.Interop;

namespace Tattle.Capture.Bpf;

/// <summary>
/// The capabilities of the running kernel, each probed by asking the kernel itself — a tiny program loaded
/// (bpf/features.bpf.c), a helper or map type probed through libbpf, or a name looked up in the kernel's BTF —
/// the way libbpf and cilium/ebpf probe; never by version number, since distributions backport. Cached per boot.
/// </summary>
public sealed class KernelFeatures
{
    /// <summary>Resource name of the embedded probe object.</summary>
    public const string ProbeResource = "bpf/features.bpf.o";

    private const string CacheDirectory = "/run/tattle";
    private const string CacheFile = CacheDirectory + "/kernel-features";

    // uapi/linux/bpf.h
    private const int ProgKprobe = 2;
    private const int ProgRawTracepoint = 17;
    private const int MapRingBuf = 27;
    private const int HelperProbeReadKernel = 113;
    private const int HelperGetAttachCookie = 174;
    private const int HelperLoop = 181;
    private const int BtfKindTypedef = 8;
    private const int BtfKindFunc = 12;

    private static readonly Lock Gate = new();
    private static KernelFeatures? _current;

    private readonly IReadOnlyDictionary<KernelCapability, bool> _has;

    public KernelFeatures(string release, IReadOnlyDictionary<KernelCapability, bool> has, bool cached = false)
    {
        Release = release;
        _has = has;
        FromCache = cached;
    }

    /// <summary>The kernel's release (uname -r).</summary>
    public string Release { get; }

    /// <summary>True when the results came from this boot's cache rather than fresh probes.</summary>
    public bool FromCache { get; }

    public bool Has(KernelCapability capability) => _has.TryGetValue(capability, out bool yes) && yes;

    /// <summary>
    /// The environment variable that hides capabilities from the choice (comma-separated names, e.g.
    /// "BpfLoop,AttachCookie"): a newer kernel then behaves as an older one would, for tests and for comparing.
    /// </summary>
    public const string HideVariable = "TATTLE_KERNEL_HIDE";

    /// <summary>This kernel's capabilities: probed once per boot (cached in /run/tattle), then from memory.</summary>
    public static KernelFeatures Current
    {
        get
        {
            lock (Gate)
            {
                return _current ??= (LoadCached() ?? Store(Probe())).Hiding(Environment.GetEnvironmentVariable(HideVariable));
            }
        }
    }

    /// <summary>The capabilities named in <paramref name="names"/> (comma-separated) are reported missing.</summary>
    public KernelFeatures Hiding(string? names)
    {
        var hidden = (names ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(n => Enum.TryParse<KernelCapability>(n, ignoreCase: true, out var c) ? c
                : throw new ArgumentException($"{HideVariable}: no capability named '{n}' (names: {string.Join(", ", Enum.GetNames<KernelCapability>())})"))
            .ToHashSet();
        return hidden.Count == 0 ? this
            : new KernelFeatures(Release, Enum.GetValues<KernelCapability>().ToDictionary(c => c, c => Has(c) && !hidden.Contains(c)), FromCache) { Hidden = hidden };
    }

    /// <summary>Capabilities hidden through <see cref="HideVariable"/>.</summary>
    public IReadOnlySet<KernelCapability> Hidden { get; private init; } = new HashSet<KernelCapability>();

    /// <summary>Probes every capability now, without the cache.</summary>
    public static KernelFeatures Probe()
    {
        LibbpfLog.Install();
        var has = new Dictionary<KernelCapability, bool>
        {
            [KernelCapability.Btf] = File.Exists("/sys/kernel/btf/vmlinux"),
            [KernelCapability.RingBuffer] = Libbpf.ProbeMapType(MapRingBuf, IntPtr.Zero) == 1,
            [KernelCapability.RawTracepoints] = Libbpf.ProbeProgramType(ProgRawTracepoint, IntPtr.Zero) == 1,
            [KernelCapability.ProbeReadKernel] = Libbpf.ProbeHelper(ProgRawTracepoint, HelperProbeReadKernel, IntPtr.Zero) == 1,
            [KernelCapability.BpfLoop] = Libbpf.ProbeHelper(ProgRawTracepoint, HelperLoop, IntPtr.Zero) == 1,
            [KernelCapability.AttachCookie] = Libbpf.ProbeHelper(ProgKprobe, HelperGetAttachCookie, IntPtr.Zero) == 1,
            [KernelCapability.Uprobes] = File.Exists("/sys/bus/event_source/devices/uprobe/type"),
        };
        IntPtr btf = has[KernelCapability.Btf] ? Libbpf.BtfLoadVmlinux() : IntPtr.Zero;
        try
        {
            has[KernelCapability.RdonlyCast] = btf != IntPtr.Zero && Libbpf.BtfFindByNameKind(btf, "bpf_rdonly_cast", BtfKindFunc) > 0;
            has[KernelCapability.TcpStateTracepoint] = btf != IntPtr.Zero && Libbpf.BtfFindByNameKind(btf, "btf_trace_inet_sock_set_state", BtfKindTypedef) > 0;
        }
        finally
        {
            if (btf != IntPtr.Zero)
            {
                Libbpf.BtfFree(btf);
            }
        }
        byte[] probes = EmbeddedObject.Read(ProbeResource);
        has[KernelCapability.TpBtf] = has[KernelCapability.Btf] && LoadsAlone(probes, "probe_tp_btf");
        has[KernelCapability.TaskStorage] = has[KernelCapability.TpBtf] && LoadsAlone(probes, "probe_task_storage", "probe_storage");
        has[KernelCapability.TaskPtRegs] = has[KernelCapability.TpBtf] && LoadsAlone(probes, "probe_task_pt_regs");
        has[KernelCapability.SockLengthTracepoints] = has[KernelCapability.TpBtf] && LoadsAlone(probes, "probe_sock_length");
        has[KernelCapability.UprobeMulti] = LoadsAlone(probes, "probe_uprobe", expectedAttachType: BpfSyscall.TraceUprobeMulti, then: LinksUprobeMulti);
        return new KernelFeatures(KernelRelease(), has);
    }

    /// <summary>
    /// Whether the kernel makes uprobe_multi links. Loading is not proof: 6.1 accepts the attach type on a kprobe
    /// program and refuses only the link (EINVAL). A link on "/" fails with EBADF where the kernel knows the link
    /// type (the path is no ELF file) and with EINVAL where it does not, as libbpf probes it.
    /// </summary>
    private static bool LinksUprobeMulti(int progFd)
    {
        try
        {
            using var link = BpfSyscall.AttachUprobeMulti(progFd, "/", [0UL], [0UL], atReturn: false, pid: 0);
            return true;
        }
        catch (NativeCallException e)
        {
            return e.ErrorNumber == Errno.EBADF;
        }
    }

    /// <summary>
    /// Loads one program of the probe object (and the one map it needs); true when the kernel accepts it and
    /// <paramref name="then"/>, given the loaded program's fd, says yes too.
    /// </summary>
    private static unsafe bool LoadsAlone(byte[] bytes, string program, string? map = null, int expectedAttachType = -1, Func<int, bool>? then = null)
    {
        IntPtr obj = EmbeddedObject.Open(bytes, "tattle_probe\0"u8);
        if (obj == IntPtr.Zero)
        {
            return false;
        }
        try
        {
            for (IntPtr prog = Libbpf.NextProgram(obj, IntPtr.Zero); prog != IntPtr.Zero; prog = Libbpf.NextProgram(obj, prog))
            {
                bool wanted = new string((sbyte*)Libbpf.ProgramName(prog)) == program;
                Libbpf.ProgramSetAutoload(prog, wanted);
                if (wanted && expectedAttachType >= 0)
                {
                    Libbpf.ProgramSetExpectedAttachType(prog, expectedAttachType);
                }
            }
            IntPtr storage = Libbpf.FindMapByName(obj, "probe_storage");
            if (storage != IntPtr.Zero)
            {
                Libbpf.MapSetAutocreate(storage, map == "probe_storage");
            }
            if (Libbpf.ObjectLoad(obj) != 0)
            {
                return false;
            }
            return then is null || then(Libbpf.ProgramFd(Libbpf.FindProgramByName(obj, program)));
        }
        finally
        {
            Libbpf.ObjectClose(obj);
        }
    }

    private static string KernelRelease()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    // The cache is valid for one boot and one build of the probes: a new kernel means a new boot, a new Tattle
    // may probe differently. Plain lines, "key value", so nothing needs a serializer.
    private static string CacheKey()
    {
        string boot = File.Exists("/proc/sys/kernel/random/boot_id") ? File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim() : "";
        string build = Convert.ToHexString(SHA256.HashData(EmbeddedObject.Read(ProbeResource)))[..16];
        return $"{boot}/{build}/{string.Join(',', Enum.GetNames<KernelCapability>())}";
    }

    private static KernelFeatures? LoadCached()
    {
        try
        {
            var lines = File.ReadAllLines(CacheFile);
            if (lines.Length == 0 || lines[0] != "key " + CacheKey())
            {
                return null;
            }
            var has = new Dictionary<KernelCapability, bool>();
            string release = KernelRelease();
            foreach (var line in lines.Skip(1))
            {
                var parts = line.Split(' ', 2);
                if (parts.Length == 2 && Enum.TryParse<KernelCapability>(parts[0], out var capability))
                {
                    has[capability] = parts[1] == "yes";
                }
            }
            return has.Count == Enum.GetValues<KernelCapability>().Length ? new KernelFeatures(release, has, cached: true) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static KernelFeatures Store(KernelFeatures features)
    {
        try
        {
            Directory.CreateDirectory(CacheDirectory);
            var lines = new List<string> { "key " + CacheKey() };
            lines.AddRange(Enum.GetValues<KernelCapability>().Select(c => $"{c} {(features.Has(c) ? "yes" : "no")}"));
            string temp = CacheFile + "." + Environment.ProcessId;
            File.WriteAllLines(temp, lines);
            File.Move(temp, CacheFile, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Without a cache the next start probes again (a few milliseconds).
        }
        return features;
    }
}
