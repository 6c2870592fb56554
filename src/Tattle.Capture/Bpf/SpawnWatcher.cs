using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Tattle.Interop;

namespace Tattle.Capture.Bpf;

/// <summary>A traced process forked (<see cref="Pid"/> is the child) or exec'd, read from the spawns ring.</summary>
public readonly record struct SpawnEvent(bool Exec, int Pid, int ParentPid);

/// <summary>
/// Reads the spawns ring (<see cref="TracerOptions.Spawns"/>) on a thread of its own and hands each fork or exec to
/// a handler as it happens. Uprobes go on a process only once user space asks, and a child that execs a program maps
/// its TLS library about a millisecond later: probed before that, it costs the kernel a breakpoint per function when
/// the library is mapped; probed after, each function waits for the kernel (2-10 ms here), and a curl to a local
/// server has made its first TLS call by then. The events ring carries the same forks and execs, but behind whatever
/// its consumer is parsing; this ring holds nothing else, and its thread runs at a raised priority. The thread
/// sleeps until a record or <see cref="Dispose"/> comes, with no timeout: an idle trace pays it no wake-up.
/// </summary>
public sealed unsafe class SpawnWatcher : IDisposable
{
    /// <summary>The thread's nice value: ahead of the traced programs and tattle's own parsing when it wakes.</summary>
    private const int Nice = -10;

    /// <summary>How long Dispose waits for the thread: the handler may be in a slow attach.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(1);

    private readonly Action<SpawnEvent> _handler;
    private readonly RingBufferHandle _ring;
    private readonly Thread _thread;

    /// <summary>A pipe whose write end <see cref="Dispose"/> closes: the thread waits on its read end and the ring at once.</summary>
    private readonly SafeFileHandle _stopRead;
    private readonly SafeFileHandle _stopWrite;
    private volatile int _threadId;
    private GCHandle _self;
    private ExceptionDispatchInfo? _failure;
    private volatile bool _stopping;

    public SpawnWatcher(BpfTracer tracer, Action<SpawnEvent> handler)
    {
        _handler = handler;
        // The pipe first: should it fail, no GC handle of the ring's consumer is left allocated (SafeHandles finalize).
        (_stopRead, _stopWrite) = Libc.Pipe();
        _ring = RingConsumer.Open(tracer, tracer.SpawnsFd, &OnSample, this, out _self, "creating the spawns ring's consumer");
        _thread = new Thread(Run) { IsBackground = true, Name = "tattle-spawns" };
        _thread.Start();
    }

    /// <summary>The thread's id in the kernel (0 until it runs): its wake-ups can be read under /proc/self/task.</summary>
    internal int ThreadId => _threadId;

    private void Run()
    {
        _threadId = Libc.GetTid();
        // Best effort: without the privilege the thread runs at the process's priority, as the consumer does.
        _ = Libc.SetPriority(Libc.PRIO_PROCESS, (uint)_threadId, Nice);
        IntPtr rb = _ring.DangerousGetHandle();
        // libbpf's own epoll set holds the ring; polling it beside the pipe keeps to its public calls (its poll takes
        // a timeout only, and any fd added to its set would be read as the index of a ring).
        Libc.PollFd* fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = Libbpf.RingBufferEpollFd(rb), Events = Libc.POLLIN };
        fds[1] = new Libc.PollFd { Fd = (int)_stopRead.DangerousGetHandle(), Events = Libc.POLLIN };
        try
        {
            while (true)
            {
                if (Libc.Poll(fds, 2, -1) < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno != Errno.EINTR)
                    {
                        throw new NativeCallException("waiting on the spawns ring", errno);
                    }
                    continue;
                }
                // The pipe's end reads as POLLHUP once Dispose closes the write end.
                if (_stopping || fds[1].ReturnedEvents != 0)
                {
                    return;
                }
                int consumed = Libbpf.RingBufferConsume(rb);
                // Thrown here, on this thread, as the worker's own exceptions would be: the handler is the worker's code.
                _failure?.Throw();
                RingConsumer.Records(consumed, "reading the spawns ring");
            }
        }
        catch (Exception) when (_stopping)
        {
            // A handler that outlived Dispose's wait found the probes released under it: the trace is over.
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnSample(IntPtr ctx, void* data, nuint size)
    {
        var watcher = (SpawnWatcher)GCHandle.FromIntPtr(ctx).Target!;
        if (size < (nuint)sizeof(NativeSpawn))
        {
            return 0;
        }
        try
        {
            var s = Unsafe.ReadUnaligned<NativeSpawn>(data);
            watcher._handler(new SpawnEvent(s.Type == NativeEventType.Exec, (int)s.Pid, (int)s.ParentPid));
            return 0;
        }
        catch (Exception ex)
        {
            // Never across libbpf's frames.
            watcher._failure = ExceptionDispatchInfo.Capture(ex);
            return -1;
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _stopWrite.Dispose();
        if (_thread.Join(StopTimeout))
        {
            _ring.Dispose();
            _stopRead.Dispose();
            _self.Free();
        }
        // Otherwise the thread is in a handler still (a file a traced process controls can stall a read for good): the
        // ring stays for it, and goes with the process.
    }
}
