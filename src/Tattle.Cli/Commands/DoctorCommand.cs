using System.CommandLine;
using System.Runtime.InteropServices;
using Tattle.Capture.Bpf;
using Tattle.Cli.Tracing;
using Tattle.Interop;

namespace Tattle.Cli.Commands;

/// <summary>
/// `tattle doctor`: the kernel, its BTF, each capability the programs use (probed, not guessed from the version),
/// the privileges, which build of the programs will load and what is lost without each missing capability.
/// </summary>
public static class DoctorCommand
{
    /// <summary>Exit code when no build of the programs can load here.</summary>
    public const int Unsupported = 1;

    public static Command Create()
    {
        var fresh = new Option<bool>("--fresh") { Description = "Probe again instead of reading this boot's cached results" };
        var command = new Command("doctor", "Check this kernel: capabilities, privileges and which BPF programs will load") { fresh };
        command.SetAction(result => Run(result.GetValue(fresh), StandardStream.Output, StandardStream.ErrorWriter));
        return command;
    }

    internal static int Run(bool fresh, Stream stdout, TextWriter stderr)
    {
        using var w = new StreamWriter(stdout, leaveOpen: true) { AutoFlush = false };
        w.WriteLine($"kernel      {Read("/proc/sys/kernel/osrelease") ?? "?"} ({RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()})");
        var btf = new FileInfo("/sys/kernel/btf/vmlinux");
        w.WriteLine(btf.Exists ? $"BTF         {btf.FullName} ({btf.Length / 1024} KiB)" : "BTF         missing: the kernel needs CONFIG_DEBUG_INFO_BTF=y; nothing can load");
        if (Read("/sys/kernel/security/lockdown") is { } lockdown)
        {
            w.WriteLine($"lockdown    {lockdown}" + (lockdown.Contains("[confidentiality]", StringComparison.Ordinal) ? " (kernel memory reads refused: nothing can load)" : ""));
        }
        w.WriteLine($"privileges  {Privileges()}");
        if (Preflight.Check() is { } problem)
        {
            w.WriteLine($"            {problem}");
            w.Flush();
            return Unsupported;
        }

        KernelFeatures features;
        try
        {
            features = fresh ? KernelFeatures.Probe().Hiding(Environment.GetEnvironmentVariable(KernelFeatures.HideVariable)) : KernelFeatures.Current;
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"tattle doctor: {e.Message}");
            return 2;
        }
        w.WriteLine();
        w.WriteLine(features.FromCache ? "capabilities (probed earlier this boot; --fresh probes again):" : "capabilities (probed now):");
        var rows = new List<string[]> { new[] { "capability", "since", "here", "used for", "without it" } };
        rows.AddRange(KernelCapabilities.All.Select(i => new[]
        {
            i.Name, i.Since, features.Has(i.Capability) ? "yes" : features.Hidden.Contains(i.Capability) ? "hidden" : "NO", i.UsedFor,
            features.Has(i.Capability) ? "" : i.WithoutIt,
        }));
        TextTable.WriteAligned(w, rows);

        w.WriteLine();
        w.WriteLine("program builds (loaded into the kernel and unloaded, nothing attached):");
        var loads = new Dictionary<BpfVariant, VariantLoad>();
        foreach (var variant in Enum.GetValues<BpfVariant>())
        {
            var load = BpfTracer.TryLoad(variant);
            loads[variant] = load;
            w.WriteLine(load.Loaded
                ? $"  {Name(variant),-9} loads: {load.Programs} programs in {load.Took.TotalMilliseconds:0} ms — {Describe(variant)}"
                : $"  {Name(variant),-9} refused: {load.Error.FirstOrDefault()} — {Describe(variant)}");
            foreach (var line in load.Error.Skip(1))
            {
                w.WriteLine($"              {line}");
            }
        }

        var choice = VariantChoice.Choose(features, BpfVariantRequest.Auto);
        w.WriteLine();
        if (choice.Variant is { } chosen && loads[chosen].Loaded)
        {
            w.WriteLine($"variant: {Name(chosen)} ({choice.Reason}); --bpf-variant or ${VariantChoice.EnvironmentVariable} overrides it");
            if (chosen == BpfVariant.Fallback)
            {
                w.WriteLine("  the fallback reads every kernel field with bpf_probe_read_kernel and keeps calls in flight in a hash:");
                w.WriteLine("  the same records, at a higher cost per traced syscall (docs/kernels.md has the figures)");
            }
            if (BpfTracer.UprobesMissing(features) is { } missing)
            {
                w.WriteLine($"  no TLS plaintext and no `tattle probe` here: they need {missing}");
            }
            w.Flush();
            return 0;
        }
        w.WriteLine(choice.Variant is null
            ? $"variant: none: {choice.Reason}"
            : $"variant: none: the probes chose {Name(choice.Variant.Value)} but the kernel refused it (see above)");
        w.Flush();
        return Unsupported;
    }

    private static string Name(BpfVariant variant) => variant.ToString().ToLowerInvariant();

    private static string Describe(BpfVariant variant) => variant == BpfVariant.Fast
        ? "tp_btf syscall programs, plain loads, task storage"
        : "raw tracepoints, bpf_probe_read_kernel, a hash for calls in flight, bounded loops";

    private static string Privileges()
    {
        ulong caps = Preflight.EffectiveCapabilities();
        string Has(int cap, string name) => $"{name} {((caps & (1UL << cap)) != 0 ? "yes" : "no")}";
        string who = Libc.GetEffectiveUserId() == 0 ? "root" : $"uid {Libc.GetEffectiveUserId()}";
        return $"{who}; {Has(Preflight.CapBpf, "CAP_BPF")}, {Has(Preflight.CapPerfmon, "CAP_PERFMON")}, "
            + $"{Has(Preflight.CapSysAdmin, "CAP_SYS_ADMIN")} (uprobes), {Has(Preflight.CapNetAdmin, "CAP_NET_ADMIN")} (-w, sandbox)";
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
