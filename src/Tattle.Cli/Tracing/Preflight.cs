using System.Globalization;
using System.Runtime.InteropServices;
using Tattle.Interop;

namespace Tattle.Cli.Tracing;

/// <summary>Checks what tracing needs before touching the kernel, so a missing piece is one actionable line.</summary>
internal static class Preflight
{
    internal const int CapNetAdmin = 12;
    internal const int CapSysAdmin = 21;
    internal const int CapPerfmon = 38;
    internal const int CapBpf = 39;

    /// <summary>Returns null when tracing can start, otherwise the message to print (exit code 2).</summary>
    public static string? Check()
    {
        if (!NativeLibrary.TryLoad(Libbpf.Library, out _))
        {
            return "libbpf is missing (libbpf.so.1): install it with `apt-get install libbpf1`, or use ./tattle, which installs it";
        }
        if (!File.Exists("/sys/kernel/btf/vmlinux"))
        {
            return "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): Tattle needs a kernel built with CONFIG_DEBUG_INFO_BTF=y";
        }
        if (Libc.GetEffectiveUserId() != 0)
        {
            ulong caps = EffectiveCapabilities();
            bool bpf = (caps & (1UL << CapBpf)) != 0 || (caps & (1UL << CapSysAdmin)) != 0;
            bool perfmon = (caps & (1UL << CapPerfmon)) != 0 || (caps & (1UL << CapSysAdmin)) != 0;
            if (!bpf || !perfmon)
            {
                return "tracing needs root (or the CAP_BPF and CAP_PERFMON capabilities): run it with sudo";
            }
        }
        return null;
    }

    /// <summary>The CapEff mask of this process.</summary>
    internal static ulong EffectiveCapabilities()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var caps))
            {
                return caps;
            }
        }
        return 0;
    }
}
