using Tattle.Capture.Bpf;

namespace Tattle.Tests.Capture.Bpf;

/// <summary>The wake-up threshold each CPU counts against, for the ring and the machine it runs on.</summary>
public sealed class TracerOptionsTests
{
    [Theory]
    // This machine: 2 CPUs and the default 16 MiB ring hold either threshold whole.
    [InlineData(TracerOptions.DefaultWakeupBytes, TracerOptions.DefaultRingMiB << 20, 2, TracerOptions.DefaultWakeupBytes)]
    [InlineData(TracerOptions.CountingWakeupBytes, TracerOptions.DefaultRingMiB << 20, 2, TracerOptions.CountingWakeupBytes)]
    // 64 CPUs at 128 KiB would leave 8 MiB, half the ring, waiting unannounced: a quarter of it is 64 KiB a CPU.
    [InlineData(TracerOptions.CountingWakeupBytes, TracerOptions.DefaultRingMiB << 20, 64, 64 << 10)]
    // --ring-size 1 on 16 CPUs: 16 KiB a CPU, even for the full trace's 32.
    [InlineData(TracerOptions.DefaultWakeupBytes, 1 << 20, 16, 16 << 10)]
    // The tests' 256 KiB ring on 2 CPUs keeps the 32 KiB they were written for.
    [InlineData(TracerOptions.DefaultWakeupBytes, 256 << 10, 2, 32 << 10)]
    public void EachCpuWakesTheReaderBeforeTheCpusTogetherFillAQuarterOfTheRing(long wanted, int ringBytes, int cpus, long expected)
    {
        var options = new TracerOptions { WakeupBytes = wanted, RingBufferBytes = ringBytes };
        long perCpu = options.WakeupBytesPerCpu(cpus);
        Assert.Equal(expected, perCpu);
        Assert.True(perCpu * cpus <= ringBytes / 4);
    }
}
