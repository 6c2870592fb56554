using System.Diagnostics;
using Tattle.Capture.Bpf;
using Tattle.Capture.Events;
using Tattle.Records;
using Tattle.Tracking;
using Tattle.Tracking.Connections;

// Ring buffer benchmark (targets: >= 500k events/s drained with 64-byte payloads on 2 cores; zero drops at
// 200k events/s with 4 KiB payloads). Three measurements, each with the real kernel programs and decoder:
//   prefilled  - the consumer waits while the generator fills the ring, then drains it: pure consumer speed;
//   live       - generator flat out while the consumer drains: end-to-end events/s and drops;
//   paced      - 200k events/s of 4 KiB payloads for 3 s: drops must be 0.
// "pipeline" runs the full TraceSession (tracking + records) instead of a counting sink.
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: Tattle.Bench.RingBuffer GEN_BINARY");
    return 2;
}
string gen = args[0];
var results = new List<string>();
results.Add(Prefilled(gen, 64, 300_000, pipeline: false));
results.Add(Prefilled(gen, 64, 300_000, pipeline: true));
results.Add(Live(gen, 64, 2_000_000, 0, pipeline: false));
results.Add(Live(gen, 64, 2_000_000, 0, pipeline: true));
results.Add(Prefilled(gen, 4096, 200_000, pipeline: true, ringMb: 1024));
results.Add(Live(gen, 4096, 600_000, 200_000, pipeline: true));
results.Add(Live(gen, 4096, 600_000, 200_000, pipeline: true, generators: 2));
foreach (var r in results)
{
    Console.WriteLine(r);
}
return 0;

static (BpfTracer, RingBufferReader, CountingSink) Open(int snaplen, int ringMb, bool pipeline)
{
    var tracer = BpfTracer.Load(new TracerOptions { Snaplen = snaplen, RingBufferBytes = ringMb << 20 });
    var counter = new CountingSink();
    ITraceEventSink sink = counter;
    if (pipeline)
    {
        var session = new TraceSession(new NullSink(), new NoSocketLookup(), new TraceSettings { ToUnixNs = t => t });
        sink = new Tee(session, counter);
    }
    return (tracer, new RingBufferReader(tracer, new EventDecoder(sink)), counter);
}

static Process StartGen(string gen, long count, int size, int rate)
{
    var p = Process.Start(new ProcessStartInfo(gen, [count.ToString(), size.ToString(), rate.ToString()])
    {
        RedirectStandardInput = true,
        RedirectStandardOutput = true,
    })!;
    return p;
}

static string Prefilled(string gen, int size, long count, bool pipeline, int ringMb = 128)
{
    var (tracer, reader, counter) = Open(size, ringMb, pipeline);
    using (tracer)
    using (reader)
    {
        using var p = StartGen(gen, count, size, 0);
        tracer.Trace(p.Id);
        p.StandardInput.WriteLine("go");
        p.WaitForExit();
        var sw = Stopwatch.StartNew();
        long cpu0 = CpuNs();
        reader.Drain();
        double secs = sw.Elapsed.TotalSeconds;
        long cpu = CpuNs() - cpu0;
        var stats = tracer.ReadStats();
        return $"prefilled  {(pipeline ? "pipeline" : "decode  ")} payload={size,5}  records={counter.Data,9}  drained {counter.Data / secs / 1e6,6:0.00} M/s  consumer CPU {cpu / (double)Math.Max(1, counter.Data),6:0} ns/event  dropped={stats.DataDropped}";
    }
}

static string Live(string gen, int size, long count, int rate, bool pipeline, int generators = 1)
{
    var (tracer, reader, counter) = Open(size, 64, pipeline);
    using (tracer)
    using (reader)
    {
        // Several generators share the rate: one traced process cannot make 200k 4 KiB datagrams/s on this VM.
        var gens = Enumerable.Range(0, generators).Select(_ => StartGen(gen, count / generators, size, rate / generators)).ToList();
        foreach (var p in gens)
        {
            tracer.Trace(p.Id);
        }
        long cpu0 = CpuNs();
        var sw = Stopwatch.StartNew();
        foreach (var p in gens)
        {
            p.StandardInput.WriteLine("go");
        }
        while (gens.Any(p => !p.HasExited))
        {
            reader.Poll(10);
        }
        reader.Drain();
        double secs = sw.Elapsed.TotalSeconds;
        long cpu = CpuNs() - cpu0;
        double genSecs = gens.Max(p => long.Parse(p.StandardOutput.ReadToEnd().Split(' ')[1])) / 1e9;
        long sent = count / generators * generators;
        var stats = tracer.ReadStats();
        foreach (var p in gens)
        {
            p.Dispose();
        }
        string mode = (rate == 0 ? "flat out" : $"{rate / 1000}k/s paced") + (generators > 1 ? $" x{generators}" : "");
        return $"live       {(pipeline ? "pipeline" : "decode  ")} payload={size,5}  {mode,-15} generated {sent / genSecs / 1e6:0.00} M/s  delivered {counter.Data,9} ({counter.Data / secs / 1e6:0.00} M/s)  dropped={stats.DataDropped}  delivered+dropped={(ulong)counter.Data + stats.DataDropped} of {sent}  consumer CPU {cpu / (double)Math.Max(1, counter.Data):0} ns/event";
    }
}

static long CpuNs() => (long)(Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds * 1e6);

sealed class CountingSink : ITraceEventSink
{
    public long Data;

    public void OnFork(in ProcessFork e)
    {
    }

    public void OnExec(in ProcessExec e)
    {
    }

    public void OnExit(in ProcessExit e)
    {
    }

    public void OnSocket(in SocketEvent e)
    {
    }

    public void OnData(in DataEvent e, ReadOnlySpan<byte> payload) => Data++;

    public void OnLoss(in LossEvent e)
    {
    }
}

sealed class Tee(ITraceEventSink a, ITraceEventSink b) : ITraceEventSink
{
    public void OnFork(in ProcessFork e)
    {
        a.OnFork(e);
        b.OnFork(e);
    }

    public void OnExec(in ProcessExec e)
    {
        a.OnExec(e);
        b.OnExec(e);
    }

    public void OnExit(in ProcessExit e)
    {
        a.OnExit(e);
        b.OnExit(e);
    }

    public void OnSocket(in SocketEvent e)
    {
        a.OnSocket(e);
        b.OnSocket(e);
    }

    public void OnData(in DataEvent e, ReadOnlySpan<byte> payload)
    {
        a.OnData(e, payload);
        b.OnData(e, payload);
    }

    public void OnLoss(in LossEvent e)
    {
        a.OnLoss(e);
        b.OnLoss(e);
    }
}

sealed class NullSink : IRecordSink
{
    public void Write(Record record)
    {
    }

    public void Flush()
    {
    }

    public void Dispose()
    {
    }
}
