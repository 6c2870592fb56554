namespace Tattle.Tests.Capture.Elf;

/// <summary>
/// A C program with SystemTap SDT probes of several argument shapes (`<sys/sdt.h>`, package systemtap-sdt-dev),
/// built once per test run as a PIE and as a fixed-address executable. The `hit` probe has a semaphore and lives in a
/// file compiled without optimisation, so its arguments are stack slots below %rbp.
/// </summary>
public static class SdtProgram
{
    public const string Header = "/usr/include/x86_64-linux-gnu/sys/sdt.h";

    private const string Main = """
        #include <sys/sdt.h>
        #include <stdint.h>
        #include <stdio.h>
        volatile int64_t tattle_global = 7;
        struct tattle_pair { int a; long b; char c; short d; };
        int tattle_hit(int n);
        int main(int argc, char **argv) {
          struct tattle_pair v = { argc, (long)argv, 'x', -3 };
          volatile struct tattle_pair *p = &v;
          DTRACE_PROBE(tattle_demo, none);
          DTRACE_PROBE1(tattle_demo, constant, 5);
          DTRACE_PROBE2(tattle_demo, regs, argc, (long)argv);
          DTRACE_PROBE4(tattle_demo, mem, p->a, p->b, p->c, p->d);
          DTRACE_PROBE3(tattle_demo, mixed, (int8_t)-1, (uint16_t)argc, tattle_global);
          printf("%d\n", tattle_hit(v.a));
          return 0;
        }
        """;

    private const string WithSemaphore = """
        #define _SDT_HAS_SEMAPHORES 1
        #include <sys/sdt.h>
        __extension__ unsigned short tattle_demo_hit_semaphore __attribute__((unused)) __attribute__((section(".probes")));
        int tattle_hit(int n) {
          long wide = -8L * n;
          if (__builtin_expect(tattle_demo_hit_semaphore, 0)) DTRACE_PROBE2(tattle_demo, hit, n, wide);
          return n + 1;
        }
        """;

    private static readonly Lazy<(string Pie, string Fixed)> Built = new(Build);

    /// <summary>The position-independent build (addresses from 0).</summary>
    public static string Pie => Built.Value.Pie;

    /// <summary>The -no-pie build (addresses from 0x400000).</summary>
    public static string Fixed => Built.Value.Fixed;

    private static (string, string) Build()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"tattle-sdt-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string main = Path.Combine(dir, "main.c");
        string sem = Path.Combine(dir, "sem.c");
        File.WriteAllText(main, Main);
        File.WriteAllText(sem, WithSemaphore);
        string pie = Path.Combine(dir, "sdt-pie");
        string fixedAddress = Path.Combine(dir, "sdt-fixed");
        TestBinary.Run("cc", "-O0", "-fPIE", "-c", "-o", sem + ".o", sem);
        TestBinary.Run("cc", "-O2", "-pie", "-o", pie, main, sem + ".o");
        TestBinary.Run("cc", "-O2", "-no-pie", "-o", fixedAddress, main, sem + ".o");
        return (pie, fixedAddress);
    }
}
