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
    private readonly EventDecoder _decoder;
    private readonly RingBufferHandle _ring;
    private GCHandle _self;
    private ExceptionDispatchInfo? _failure;

    public RingBufferReader(BpfTracer tracer, EventDecoder decoder)
    {
        _decoder = decoder;
        _ring = RingConsumer.Open(tracer, tracer.EventsFd, &OnSample, this, out _self, "creating the ring buffer consumer");
    }

    /// <summary>Records handed to the decoder so far.</summary>
    public ulong Delivered { get; private set; }

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
        int consumed = Libbpf.RingBufferConsume(rb);
        ThrowIfFailed();
        return read + RingConsumer.Records(consumed, "draining the ring buffer");
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
