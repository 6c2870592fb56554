using System.Runtime.InteropServices;
using Tattle.Interop;

namespace Tattle.Tests.Support;

/// <summary>
/// Gates tests on what the machine provides (root, BPF, programs, files). In CI (CI=true) a missing capability
/// fails the test; elsewhere the test is skipped (it shows in the summary as skipped, never as passed), so a
/// developer without root can still run the unit tests. Tests that call these are <c>[SkippableFact]</c> or
/// <c>[SkippableTheory]</c>: a plain <c>[Fact]</c> reports the skip as a failure.
/// </summary>
public static class Requires
{
    public static bool InCi => Environment.GetEnvironmentVariable("CI") == "true";

    /// <summary>Root and a kernel with BTF: tracing loads BPF programs.</summary>
    public static void RootAndBpf(ITestOutputHelper output)
    {
        Root(output, "tracing loads BPF programs");
        Check(output, File.Exists("/sys/kernel/btf/vmlinux"), "a kernel with BTF");
    }

    /// <summary>Root (AF_PACKET sockets) and libpcap's runtime library: packets can be captured.</summary>
    public static void RootAndLibpcap(ITestOutputHelper output)
    {
        Root(output, "packet capture opens AF_PACKET sockets");
        Check(output, NativeLibrary.TryLoad(Libpcap.Library, out _), $"{Libpcap.Library} (apt-get install libpcap0.8)");
    }

    /// <summary>Root, for the reason given.</summary>
    public static void Root(ITestOutputHelper? output, string why) =>
        Check(output, Libc.GetEffectiveUserId() == 0, $"root ({why})");

    /// <summary>The program on PATH (scripts/ensure-deps.sh installs what the tests use).</summary>
    public static void Program(ITestOutputHelper? output, string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        Check(output, path.Split(':').Any(d => File.Exists(Path.Combine(d, name))), $"{name} on PATH");
    }

    /// <summary>A file some package installs (a library, a data file), named with that package.</summary>
    public static void FileFrom(ITestOutputHelper? output, string path, string package) =>
        Check(output, File.Exists(path), $"{path} (apt-get install {package})");

    /// <summary>Any other condition, described as what the machine must provide.</summary>
    public static void That(ITestOutputHelper? output, bool condition, string what) => Check(output, condition, what);

    private static void Check(ITestOutputHelper? output, bool present, string what)
    {
        if (present)
        {
            return;
        }
        if (InCi)
        {
            Assert.Fail($"CI must provide {what}");
        }
        output?.WriteLine($"SKIPPED outside CI: needs {what}");
        throw new SkipException($"needs {what} (fails under CI=true)");
    }
}
