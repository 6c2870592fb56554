using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Tattle.Interop;

namespace Tattle.Capture.Bpf;

/// <summary>
/// Drains the kernel's ring buffer into an <see cref="EventDecoder"/>. Records are decoded (and anything kept is
/// copied) inside the callback, because a record is valid only until it returns. An exception in the handler
/// never crosses into libbpf: it stops the drain and is rethrown by <see cref="Poll"/>.
/// </summary>
public sealed unsafe class RingBufferReader : IDisposable
{
    /// <summary>The poll's period while records come; past <see cref="TracerOptions.WakeupBytes"/> the kernel wakes the reader sooner.</summary>
    public const int BusyPollMs = 10;

    /// <summary>How long an idle reader sleeps when no record wakes it (a signal or a deadline waits at most this).</summary>
    public const int IdlePollMs = 100;

    /// <summary>Polls in a row that found nothing before the reader counts as idle.</summary>
    private const int QuietPolls = 3;

    private readonly BpfTracer _tracer;
    private readonly EventDecoder _decoder;
    private readonly RingBufferHandle _ring;
    private int _quietPolls;
    private GCHandle _self;
    private ExceptionDispatchInfo? _failure;

    public RingBufferReader(BpfTracer tracer, EventDecoder decoder)
    {
        _tracer = tracer;
        _decoder = decoder;
        _ring = RingConsumer.Open(tracer, tracer.EventsFd, &OnSample, this, out _self, "creating the ring buffer consumer");
    }

    /// <summary>Records handed to the decoder so far.</summary>
    public ulong Delivered { get; private set; }

    /// <summary>Polls whose wait the ring ended, the kernel having signalled records (the rest drained what waited when their wait timed out, or nothing).</summary>
    public ulong RecordWakeups { get; private set; }

    /// <summary>Whether the reader sleeps until a record wakes it (see <see cref="Next"/>).</summary>
    public bool Idle { get; private set; }

    /// <summary>The decoder records are handed to (also for records read from elsewhere than the ring).</summary>
    public EventDecoder Decoder => _decoder;

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for a wake-up, then drains whatever is there: the kernel side
    /// wakes the consumer only past a fill level, so smaller amounts are found by this drain. Returns records read.
    /// </summary>
    public int Poll(int timeoutMs)
    {
        IntPtr rb = _ring.DangerousGetHandle();
        int polled = Libbpf.RingBufferPoll(rb, timeoutMs);
        ThrowIfFailed();
        int read = RingConsumer.Records(polled, "polling the ring buffer");
        if (read > 0)
        {
            RecordWakeups++;
        }
        int consumed = Libbpf.RingBufferConsume(rb);
        ThrowIfFailed();
        return read + RingConsumer.Records(consumed, "draining the ring buffer");
    }

    /// <summary>
    /// Waits for records at the reader's pace and drains them; returns records read. While records come it polls
    /// every <see cref="BusyPollMs"/>. After <see cref="QuietPolls"/> polls that found nothing it asks the kernel
    /// programs to wake it at the next record and sleeps up to <see cref="IdlePollMs"/>: each wake-up costs this
    /// kind of VM 30–60 µs of CPU, so an idle trace then wakes ten times a second instead of a hundred, and the
    /// first record after a quiet spell is read at once instead of at the next poll.
    /// </summary>
    public int Next()
    {
        int read = Poll(Idle ? IdlePollMs : BusyPollMs);
        if (read == 0 && !Idle && ++_quietPolls >= QuietPolls)
        {
            _tracer.WakeOnNextRecord();
            Idle = true;
            // A record written while the request was on its way woke nobody: read it now rather than after the sleep.
            read = Poll(0);
        }
        if (read > 0)
        {
            // Busy again. A CPU whose count the request filled and that has not written since wakes it once more.
            _quietPolls = 0;
            Idle = false;
        }
        return read;
    }

    /// <summary>Reads until the ring is empty (two drains in a row find nothing).</summary>
    public void Drain()
    {
        while (Poll(0) > 0)
        {
        }
    }

    private void ThrowIfFailed()
    {
        var failure = _failure;
        if (failure is not null)
        {
            _failure = null;
            failure.Throw();
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnSample(IntPtr ctx, void* data, nuint size)
    {
        var reader = (RingBufferReader)GCHandle.FromIntPtr(ctx).Target!;
        try
        {
            reader.Delivered++;
            reader._decoder.Dispatch(new ReadOnlySpan<byte>(data, (int)size));
            return 0;
        }
        catch (Exception ex)
        {
            reader._failure = ExceptionDispatchInfo.Capture(ex);
            return -1;
        }
    }

    public void Dispose()
    {
        _ring.Dispose();
        if (_self.IsAllocated)
        {
            _self.Free();
        }
    }
}
