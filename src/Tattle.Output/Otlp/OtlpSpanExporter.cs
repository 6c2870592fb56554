using System.Collections.Concurrent;

namespace Tattle.Output.Otlp;

/// <summary>
/// Sends spans to an OTLP collector from a bounded queue and one background task: a batch goes out when it is full
/// or when <see cref="OtlpExporterOptions.ScheduledDelay"/> has passed. The caller never waits on the network and
/// never sees an exception from it: what could not be queued or sent is counted.
/// </summary>
public sealed class OtlpSpanExporter : IDisposable
{
    private readonly OtlpExporterOptions _options;
    private readonly string _scopeName;
    private readonly string _scopeVersion;
    private readonly OtlpTraceSender _sender;
    private readonly ConcurrentQueue<EncodedSpan> _queue = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _worker;
    // Guards _handled and _flushTarget; flushers wait on it for the worker to get past their spans.
    private readonly object _progress = new();
    private int _queued;
    private int _wakePending;
    private int _disposed;
    private long _enqueued;
    private long _handled;
    private long _flushTarget;
    private long _exported;
    private long _dropped;
    private long _failedBatches;
    private long _failedSpans;
    private volatile string? _lastError;

    /// <param name="scopeName">The InstrumentationScope the spans are sent under.</param>
    /// <param name="scopeVersion">Its version; this assembly's when null.</param>
    public OtlpSpanExporter(OtlpExporterOptions options, string scopeName = "tattle", string? scopeVersion = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxQueueSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1, nameof(options));
        // A zero delay would make the background task spin on an empty queue.
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ScheduledDelay, TimeSpan.FromMilliseconds(1), nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Timeout, TimeSpan.FromMilliseconds(1), nameof(options));
        if (options.Endpoint.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"OTLP endpoint {options.Endpoint} is not http:// or https://", nameof(options));
        }
        _options = options;
        _scopeName = scopeName;
        _scopeVersion = scopeVersion ?? typeof(OtlpSpanExporter).Assembly.GetName().Version?.ToString() ?? "";
        _sender = new OtlpTraceSender(options);
        _worker = Task.Run(RunAsync);
    }

    /// <summary>Where the spans are posted.</summary>
    public Uri Uri => _sender.Uri;

    /// <summary>Spans the collector accepted.</summary>
    public long Exported => Interlocked.Read(ref _exported);

    /// <summary>Spans refused by <see cref="TryEnqueue"/> (queue full, invalid, disposed) or left queued at dispose.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Requests that failed: no connection, timeout, a non-2xx answer or a non-zero grpc-status.</summary>
    public long FailedBatches => Interlocked.Read(ref _failedBatches);

    /// <summary>Spans in failed requests, and spans a collector's partial success rejected.</summary>
    public long FailedSpans => Interlocked.Read(ref _failedSpans);

    /// <summary>The last failure or partial-success message, for a status line.</summary>
    public string? LastError => _lastError;

    /// <summary>
    /// Queues a finished span; false (and counted in <see cref="Dropped"/>) when the queue is full. The span is encoded
    /// before the call returns and not kept: its ids and attribute list may be refilled for the next.
    /// </summary>
    public bool TryEnqueue(OtlpSpan span)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }
        if (span.Invalid() is { } why)
        {
            _lastError = $"span '{span.Name}' dropped: {why}";
            Interlocked.Increment(ref _dropped);
            return false;
        }
        int queued = Interlocked.Increment(ref _queued);
        if (queued > _options.MaxQueueSize)
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Increment(ref _dropped);
            return false;
        }
        _queue.Enqueue(OtlpTraceEncoder.EncodeSpan(span));
        Interlocked.Increment(ref _enqueued);
        if (queued >= _options.MaxBatchSize)
        {
            Wake();
        }
        return true;
    }

    /// <summary>
    /// Sends every span queued before the call, partial batch included; true when they were all sent or counted as
    /// failed within <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/> waits as long as it takes).
    /// </summary>
    public bool Flush(TimeSpan timeout)
    {
        long target = Interlocked.Read(ref _enqueued);
        lock (_progress)
        {
            _flushTarget = Math.Max(_flushTarget, target);
        }
        Wake();
        long deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_progress)
        {
            while (_handled < target)
            {
                long left = deadline - Environment.TickCount64;
                if (left <= 0 || _worker.IsCompleted)
                {
                    return false;
                }
                Monitor.Wait(_progress, TimeSpan.FromMilliseconds(Math.Min(left, int.MaxValue)));
            }
        }
        return true;
    }

    /// <summary>Flushes what is queued (within the options' Timeout), then stops; spans still queued count as dropped.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        Flush(_options.Timeout);
        _stop.Cancel();
        try
        {
            _worker.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
            // The worker ends by cancellation; nothing else escapes it.
        }
        while (_queue.TryDequeue(out _))
        {
            Interlocked.Increment(ref _dropped);
        }
        _sender.Dispose();
        _stop.Dispose();
    }

    private void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            _wake.Release();
        }
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        long due = Environment.TickCount64 + (long)_options.ScheduledDelay.TotalMilliseconds;
        while (!token.IsCancellationRequested)
        {
            long wait = due - Environment.TickCount64;
            if (wait > 0)
            {
                try
                {
                    await _wake.WaitAsync(TimeSpan.FromMilliseconds(wait), token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            Volatile.Write(ref _wakePending, 0);
            bool timeUp = Environment.TickCount64 >= due;
            while (Volatile.Read(ref _queued) is var queued
                && (queued >= _options.MaxBatchSize || (queued > 0 && (timeUp || FlushWanted()))))
            {
                await ExportBatchAsync(token).ConfigureAwait(false);
            }
            if (timeUp)
            {
                due = Environment.TickCount64 + (long)_options.ScheduledDelay.TotalMilliseconds;
            }
        }
    }

    private bool FlushWanted()
    {
        lock (_progress)
        {
            return _handled < _flushTarget;
        }
    }

    private async Task ExportBatchAsync(CancellationToken token)
    {
        var batch = new List<EncodedSpan>(Math.Min(Volatile.Read(ref _queued), _options.MaxBatchSize));
        while (batch.Count < _options.MaxBatchSize && _queue.TryDequeue(out var span))
        {
            batch.Add(span);
        }
        Interlocked.Add(ref _queued, -batch.Count);
        try
        {
            if (batch.Count == 0)
            {
                return;
            }
            OtlpSendResult result;
            try
            {
                var request = OtlpTraceEncoder.EncodeBatchPooled(batch, _scopeName, _scopeVersion, _sender.WantsGrpcFrame);
                result = await _sender.SendAsync(request, token).ConfigureAwait(false);
                // Accepted: the collector read the whole request, so its buffer can take the next batch. A request
                // that failed or timed out may still be read by a connection being torn down: left to the GC.
                if (result.Ok)
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(request.Array!);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Whatever goes wrong in one batch must not stop the exporter: it is that batch's failure.
                result = OtlpSendResult.Failed($"{e.GetType().Name}: {e.Message}");
            }
            if (result.Ok)
            {
                long rejected = Math.Clamp(result.Rejected, 0, batch.Count);
                Interlocked.Add(ref _exported, batch.Count - rejected);
                Interlocked.Add(ref _failedSpans, rejected);
                if (result.Error is not null || rejected > 0)
                {
                    _lastError = $"collector rejected {rejected} of {batch.Count} spans{(result.Error is null ? "" : ": " + result.Error)}";
                }
            }
            else
            {
                Interlocked.Increment(ref _failedBatches);
                Interlocked.Add(ref _failedSpans, batch.Count);
                _lastError = result.Error;
            }
        }
        finally
        {
            lock (_progress)
            {
                _handled += batch.Count;
                Monitor.PulseAll(_progress);
            }
        }
    }
}
