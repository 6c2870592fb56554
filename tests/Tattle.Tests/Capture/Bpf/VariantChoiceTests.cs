using Tattle.Capture.Bpf;

namespace Tattle.Tests.Capture.Bpf;

/// <summary>The build of the kernel programs each kernel shape gets, from the capabilities probed there.</summary>
public sealed class VariantChoiceTests
{
    private static readonly KernelCapability[] Everything = Enum.GetValues<KernelCapability>();

    // What the mainline releases have (the "since" column of the capability table); distributions backport, which
    // is why the tracer probes instead of reading versions.
    private static KernelFeatures Kernel(string release, params KernelCapability[] missing) =>
        new(release, Everything.ToDictionary(c => c, c => !missing.Contains(c)));

    private static readonly KernelFeatures Linux618 = Kernel("6.18.44");

    private static readonly KernelFeatures Debian12 = Kernel("6.1.0-57-amd64",
        KernelCapability.RdonlyCast, KernelCapability.UprobeMulti, KernelCapability.SockLengthTracepoints);

    private static readonly KernelFeatures Ubuntu2204 = Kernel("5.15.0-91-generic",
        KernelCapability.BpfLoop, KernelCapability.RdonlyCast, KernelCapability.UprobeMulti, KernelCapability.SockLengthTracepoints);

    private static readonly KernelFeatures Debian11 = Kernel("5.10.0-32-amd64",
        KernelCapability.BpfLoop, KernelCapability.RdonlyCast, KernelCapability.TaskStorage, KernelCapability.AttachCookie,
        KernelCapability.UprobeMulti, KernelCapability.TaskPtRegs, KernelCapability.SockLengthTracepoints);

    private static readonly KernelFeatures Rhel8 = Kernel("4.18.0-513.el8",
        KernelCapability.RingBuffer, KernelCapability.BpfLoop, KernelCapability.RdonlyCast, KernelCapability.TaskStorage,
        KernelCapability.AttachCookie, KernelCapability.UprobeMulti, KernelCapability.TaskPtRegs, KernelCapability.SockLengthTracepoints);

    [Fact]
    public void ACurrentKernelGetsTheFastPath()
    {
        var choice = VariantChoice.Choose(Linux618, BpfVariantRequest.Auto);
        Assert.Equal(BpfVariant.Fast, choice.Variant);
    }

    [Fact]
    public void Debian12sOwnKernelGetsTheFallbackAndIsToldWhy()
    {
        var choice = VariantChoice.Choose(Debian12, BpfVariantRequest.Auto);
        Assert.Equal(BpfVariant.Fallback, choice.Variant);
        Assert.Contains("bpf_rdonly_cast", choice.Reason);
        Assert.Contains("6.2", choice.Reason);
    }

    [Fact]
    public void AKernelWithoutTaskStorageInTracingAlsoGetsTheFallback()
    {
        var choice = VariantChoice.Choose(Kernel("5.18", KernelCapability.TaskStorage, KernelCapability.RdonlyCast), BpfVariantRequest.Auto);
        Assert.Equal(BpfVariant.Fallback, choice.Variant);
        Assert.Contains("task storage", choice.Reason);
    }

    [Fact]
    public void WithoutBpfLoopTheFallbackLoadsAndTheReasonNamesIt()
    {
        var choice = VariantChoice.Choose(Ubuntu2204, BpfVariantRequest.Auto);
        Assert.Equal(BpfVariant.Fallback, choice.Variant);
        Assert.Contains("bpf_loop (5.17)", choice.Reason);
        Assert.Contains("bpf_rdonly_cast kfunc (6.2)", choice.Reason);
    }

    [Fact]
    public void Debian11sKernelGetsTheFallback()
    {
        // 5.10: no bpf_loop, no task storage in tracing programs, no attach cookies (so no TLS probes), yet a ring buffer.
        var choice = VariantChoice.Choose(Debian11, BpfVariantRequest.Auto);
        Assert.Equal(BpfVariant.Fallback, choice.Variant);
        Assert.False(BpfTracer.HasUprobes(Debian11));
        Assert.True(BpfTracer.HasUprobes(Debian12));
    }

    [Fact]
    public void AnOldKernelNamesEveryCapabilityBothBuildsNeed()
    {
        var choice = VariantChoice.Choose(Rhel8, BpfVariantRequest.Fallback);
        Assert.Null(choice.Variant);
        Assert.Contains("BPF ring buffer (5.8)", choice.Reason);
        Assert.Contains("Linux 5.8 or later", choice.Reason);
        Assert.DoesNotContain("bpf_loop", choice.Reason); // only what no build can do without
    }

    [Fact]
    public void HiddenCapabilitiesAreMissingAndNamed()
    {
        var hidden = Linux618.Hiding("bpfloop, AttachCookie");
        Assert.False(hidden.Has(KernelCapability.BpfLoop));
        Assert.False(hidden.Has(KernelCapability.AttachCookie));
        Assert.True(hidden.Has(KernelCapability.RingBuffer));
        Assert.Equal(BpfVariant.Fallback, VariantChoice.Choose(hidden, BpfVariantRequest.Auto).Variant);
        Assert.Same(Linux618, Linux618.Hiding(""));
        var bad = Assert.Throws<ArgumentException>(() => Linux618.Hiding("Warp"));
        Assert.Contains("no capability named 'Warp'", bad.Message);
    }

    [Fact]
    public void WithoutBtfNothingLoads()
    {
        var choice = VariantChoice.Choose(Kernel("6.6", KernelCapability.Btf), BpfVariantRequest.Auto);
        Assert.Null(choice.Variant);
        Assert.Contains("BTF", choice.Reason);
    }

    [Fact]
    public void TheFastPathAskedForOnDebian12IsRefusedWithTheWayOut()
    {
        var choice = VariantChoice.Choose(Debian12, BpfVariantRequest.Fast);
        Assert.Null(choice.Variant);
        Assert.Contains("bpf_rdonly_cast", choice.Reason);
        Assert.Contains("--bpf-variant fallback", choice.Reason);
    }

    [Fact]
    public void TheFallbackCanBeForcedWhereTheFastPathLoads()
    {
        Assert.Equal(BpfVariant.Fallback, VariantChoice.Choose(Linux618, BpfVariantRequest.Fallback).Variant);
        Assert.Equal(BpfVariant.Fast, VariantChoice.Choose(Linux618, BpfVariantRequest.Fast).Variant);
    }

    [Fact]
    public void MissingUprobeCapabilitiesNeverChangeTheBuild()
    {
        // TLS probes degrade on their own (perf links instead of uprobe_multi; none without cookies).
        var choice = VariantChoice.Choose(Kernel("6.2", KernelCapability.UprobeMulti, KernelCapability.AttachCookie, KernelCapability.Uprobes), BpfVariantRequest.Auto);
        Assert.Equal(BpfVariant.Fast, choice.Variant);
    }

    [Theory]
    [InlineData(null, BpfVariantRequest.Auto, true)]
    [InlineData("", BpfVariantRequest.Auto, true)]
    [InlineData("auto", BpfVariantRequest.Auto, true)]
    [InlineData("FAST", BpfVariantRequest.Fast, true)]
    [InlineData(" fallback ", BpfVariantRequest.Fallback, true)]
    [InlineData("slow", BpfVariantRequest.Auto, false)]
    public void VariantNamesParse(string? text, BpfVariantRequest expected, bool ok)
    {
        Assert.Equal(ok, VariantChoice.TryParse(text, out var request));
        Assert.Equal(expected, request);
    }

    [Fact]
    public void EveryCapabilityHasOneRowInTheTable()
    {
        Assert.Equal(Everything.Order(), KernelCapabilities.All.Select(i => i.Capability).Order());
        Assert.All(KernelCapabilities.All, i => Assert.Matches(@"^\d+\.\d+$", i.Since));
    }
}
