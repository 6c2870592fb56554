using System.Runtime.InteropServices;
using Tattle.Interop;

namespace Tattle.Tests.Support;

/// <summary>
/// Gates tests on root and BPF. In CI (CI=true) a missing capability fails the test; elsewhere the test returns
/// early and says why, so a developer without root can still run the unit tests.
/// </summary>
public static class Requires
{
    public static bool InCi => Environment.GetEnvironmentVariable("CI") == "true";

    /// <summary>True when the test can run; false (after printing the reason) when it should return early.</summary>
    public static bool RootAndBpf(ITestOutputHelper output)
    {
        string? missing = Libc.GetEffectiveUserId() != 0 ? "root (tracing loads BPF programs)"
            : !File.Exists("/sys/kernel/btf/vmlinux") ? "a kernel with BTF"
            : null;
        if (missing is null)
        {
            return true;
        }
        if (InCi)
        {
            Assert.Fail($"CI must provide {missing}");
        }
        output.WriteLine($"SKIPPED outside CI: needs {missing}");
        return false;
    }

    /// <summary>True when packets can be captured: root (AF_PACKET sockets) and libpcap's runtime library.</summary>
    public static bool RootAndLibpcap(ITestOutputHelper output)
    {
        string? missing = Libc.GetEffectiveUserId() != 0 ? "root (packet capture opens AF_PACKET sockets)"
            : !NativeLibrary.TryLoad(Libpcap.Library, out _) ? $"{Libpcap.Library} (apt-get install libpcap0.8)"
            : null;
        if (missing is null)
        {
            return true;
        }
        if (InCi)
        {
            Assert.Fail($"CI must provide {missing}");
        }
        output.WriteLine($"SKIPPED outside CI: needs {missing}");
        return false;
    }

    /// <summary>True when the program is on PATH; fails in CI when it is not (.ci/run installs it).</summary>
    public static bool Program(ITestOutputHelper output, string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        if (path.Split(':').Any(d => File.Exists(Path.Combine(d, name))))
        {
            return true;
        }
        if (InCi)
        {
            Assert.Fail($"CI must provide {name}");
        }
        output.WriteLine($"SKIPPED outside CI: {name} is not installed");
        return false;
    }
}
