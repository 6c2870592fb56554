namespace Tattle.Capture.Bpf;

/// <summary>One build of bpf/tattle.bpf.c; both are embedded and produce the same records.</summary>
public enum BpfVariant
{
    /// <summary>tp_btf syscall programs, plain loads through bpf_rdonly_cast, calls in task storage (6.2+).</summary>
    Fast,

    /// <summary>raw_tp syscall programs, bpf_probe_read_kernel for every field, calls in a hash, bounded loops (5.8+).</summary>
    Fallback,
}

/// <summary>What the user asked for with --bpf-variant (or TATTLE_BPF_VARIANT).</summary>
public enum BpfVariantRequest
{
    Auto,
    Fast,
    Fallback,
}

/// <summary>The variant a kernel can load, or why none.</summary>
public sealed record VariantChoice(BpfVariant? Variant, string Reason)
{
    /// <summary>Capabilities each variant cannot load without.</summary>
    public static IReadOnlyList<KernelCapability> Common { get; } =
    [
        KernelCapability.Btf, KernelCapability.RingBuffer, KernelCapability.RawTracepoints, KernelCapability.ProbeReadKernel,
        KernelCapability.TcpStateTracepoint,
    ];

    public static IReadOnlyList<KernelCapability> FastOnly { get; } =
        [KernelCapability.TpBtf, KernelCapability.RdonlyCast, KernelCapability.TaskStorage, KernelCapability.BpfLoop];

    /// <summary>The environment variable that sets the default of --bpf-variant.</summary>
    public const string EnvironmentVariable = "TATTLE_BPF_VARIANT";

    public static bool TryParse(string? text, out BpfVariantRequest request)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case null or "" or "auto":
                request = BpfVariantRequest.Auto;
                return true;
            case "fast":
                request = BpfVariantRequest.Fast;
                return true;
            case "fallback":
                request = BpfVariantRequest.Fallback;
                return true;
            default:
                request = BpfVariantRequest.Auto;
                return false;
        }
    }

    /// <summary>The best variant the probed kernel allows, or the one requested if it can load.</summary>
    public static VariantChoice Choose(KernelFeatures features, BpfVariantRequest request)
    {
        var missingCommon = Common.Where(c => !features.Has(c)).ToArray();
        if (missingCommon.Length > 0)
        {
            return new(null, $"this kernel ({features.Release}) lacks {Names(missingCommon)}; Tattle needs Linux 5.8 or later with BTF");
        }
        var missingFast = FastOnly.Where(c => !features.Has(c)).ToArray();
        switch (request)
        {
            case BpfVariantRequest.Fallback:
                return new(BpfVariant.Fallback, "requested");
            case BpfVariantRequest.Fast when missingFast.Length > 0:
                return new(null, $"the fast variant needs {Names(missingFast)}, which this kernel ({features.Release}) lacks; use --bpf-variant fallback or auto");
            case BpfVariantRequest.Fast:
                return new(BpfVariant.Fast, "requested");
            default:
                return missingFast.Length == 0
                    ? new(BpfVariant.Fast, "every capability of the fast path is present")
                    : new(BpfVariant.Fallback, $"no {Names(missingFast)}");
        }
    }

    private static string Names(IEnumerable<KernelCapability> capabilities) =>
        string.Join(", ", capabilities.Select(c => KernelCapabilities.Info(c).Name + " (" + KernelCapabilities.Info(c).Since + ")"));
}
