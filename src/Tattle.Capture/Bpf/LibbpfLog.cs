using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Tattle.Interop;

namespace Tattle.Capture.Bpf;

/// <summary>
/// Captures libbpf's messages (including the verifier log of a failed load) instead of letting libbpf print them
/// to stderr, so a failure becomes one actionable line with the log's tail kept for --verbose.
/// </summary>
public static unsafe class LibbpfLog
{
    private static readonly Lock Gate = new();
    private static readonly Queue<string> Recent = new();
    private static bool _installed;

    /// <summary>The longest message kept (a verifier log can be megabytes; its end says why).</summary>
    private const int MaxMessage = 16 << 20;

    /// <summary>When set, every message is also written here (the CLI's --verbose).</summary>
    public static TextWriter? Echo { get; set; }

    public static void Install()
    {
        lock (Gate)
        {
            if (_installed)
            {
                return;
            }
            Libbpf.SetPrint(&OnPrint);
            _installed = true;
        }
    }

    /// <summary>The last messages libbpf printed (at most 200 lines).</summary>
    public static IReadOnlyList<string> Tail(int lines)
    {
        lock (Gate)
        {
            return Recent.Skip(Math.Max(0, Recent.Count - lines)).ToArray();
        }
    }

    public static void Clear()
    {
        lock (Gate)
        {
            Recent.Clear();
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnPrint(Libbpf.PrintLevel level, byte* format, IntPtr args)
    {
        try
        {
            if (level == Libbpf.PrintLevel.Debug)
            {
                return 0;
            }
            // A verifier log arrives as one message of up to megabytes, and its verdict is at the end: measure, then
            // format whole. vsnprintf consumes the va_list; on x86_64 it is a pointer to a 24-byte struct, and
            // va_copy is a copy of that struct.
            const int vaListSize = 24;
            byte* copy = stackalloc byte[vaListSize];
            Buffer.MemoryCopy((void*)args, copy, vaListSize, vaListSize);
            int needed = Libc.VsnPrintf(null, 0, format, (IntPtr)copy);
            if (needed <= 0)
            {
                return 0;
            }
            int size = Math.Min(needed, MaxMessage) + 1;
            var buffer = new byte[size];
            int n;
            fixed (byte* b = buffer)
            {
                n = Libc.VsnPrintf(b, (nuint)size, format, args);
            }
            if (n <= 0)
            {
                return 0;
            }
            var text = Encoding.UTF8.GetString(buffer, 0, Math.Min(n, size - 1));
            lock (Gate)
            {
                foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    Recent.Enqueue(line);
                    if (Recent.Count > 200)
                    {
                        Recent.Dequeue();
                    }
                }
            }
            Echo?.Write(text);
        }
        catch
        {
            // Never let an exception cross into native code.
        }
        return 0;
    }
}
