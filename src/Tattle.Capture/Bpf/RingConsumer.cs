using System.Runtime.InteropServices;
using Tattle.Interop;

namespace Tattle.Capture.Bpf;

/// <summary>Opens libbpf's consumer of a ring buffer map whose callback finds its owner again through a GC handle.</summary>
internal static unsafe class RingConsumer
{
    /// <summary>The consumer of <paramref name="mapFd"/>; <paramref name="self"/> is the owner's handle, freed here on failure.</summary>
    public static RingBufferHandle Open(BpfTracer tracer, int mapFd, delegate* unmanaged[Cdecl]<IntPtr, void*, nuint, int> sample,
        object owner, out GCHandle self, string what)
    {
        self = GCHandle.Alloc(owner);
        try
        {
            IntPtr rb = Libbpf.RingBufferNew(mapFd, sample, GCHandle.ToIntPtr(self), null);
            Errno.ThrowIfNull(rb, what);
            return new RingBufferHandle(rb, tracer.Handle);
        }
        catch
        {
            self.Free();
            throw;
        }
    }

    /// <summary>
    /// A poll's or a drain's result as a count of records: an interrupted wait (EINTR) read none; any other error
    /// throws. Call it after the callback's own failure is rethrown, since libbpf returns the callback's -1 as well.
    /// </summary>
    public static int Records(int result, string what)
    {
        if (result < 0 && result != -Errno.EINTR)
        {
            Errno.ThrowIfNegative(result, what);
        }
        return Math.Max(0, result);
    }
}
