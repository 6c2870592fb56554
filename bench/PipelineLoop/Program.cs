using System.Diagnostics;
using System.Globalization;
using Tattle.Bench.Protocols;
using Tattle.Output.JsonLines;
using Tattle.Records;

// One stage of tattle's user-space pipeline in a loop, built the way tattle ships (native AOT) or with the JIT, for
// bench/PipelineLoop/run.sh to interleave:
//   Tattle.Bench.PipelineLoop [--stage track|parse|json|stats] [--exchanges N] [--connections C] [--cold]
//                             [--distinct-targets] [--burst N --pause-ms M] [--out FILE]
// Prints the wall and CPU time per exchange and the gen0 collections; the stages are PipelineBenchmarks' own.
// --distinct-targets (with --cold) gives each exchange's request a path of its own, as a client that never repeats
// itself sends, where the default repeats wrk's "GET /".
// --burst and --pause-ms run N exchanges, then sleep M ms, as tattle drains its ring (about 230 exchanges every
// 5.5 ms under the overhead benchmark's load): beside a loaded server, what its work costs in short bursts.
// --out writes the json stage's lines to FILE as tattle writes its --json file (else they go to a null stream), so
// the CPU per exchange includes the file system's share.
string stage = "json";
int exchanges = 2_000_000, connections = 1, burst = 0, pauseMs = 0;
bool cold = false, distinct = false;
string? outPath = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--stage" when i + 1 < args.Length: stage = args[++i]; break;
        case "--exchanges" when i + 1 < args.Length: exchanges = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--connections" when i + 1 < args.Length: connections = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--cold": cold = true; break;
        case "--distinct-targets": distinct = true; break;
        case "--burst" when i + 1 < args.Length: burst = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--pause-ms" when i + 1 < args.Length: pauseMs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--out" when i + 1 < args.Length: outPath = args[++i]; break;
        default:
            Console.Error.WriteLine($"pipeline-loop: unknown argument {args[i]} (--stage track|parse|json|stats, --exchanges N, --connections C, --cold, --distinct-targets, --burst N --pause-ms M, --out FILE)");
            return 2;
    }
}
if (stage is not ("track" or "parse" or "json" or "stats"))
{
    Console.Error.WriteLine($"pipeline-loop: unknown stage {stage} (track, parse, json or stats)");
    return 2;
}
IRecordSink sink = stage is "track" or "parse" ? new PipelineExchange.DiscardRecords()
    : outPath is not null ? JsonLinesSink.Open(outPath) : new JsonLinesSink(Stream.Null);
var exchange = new PipelineExchange(sink, parse: stage != "track", stats: stage == "stats", connections: connections, coldBytes: cold, distinctTargets: distinct);
// Warm-up: every connection adopted and announced, the JIT's tiers settled, the buffer pool filled.
for (int i = 0; i < Math.Min(exchanges, 200_000); i++)
{
    exchange.Run();
}
long records = exchange.Records.Messages;
int gen0 = GC.CollectionCount(0);
var process = Process.GetCurrentProcess();
var cpu = process.TotalProcessorTime;
var wall = Stopwatch.StartNew();
for (int i = 0; i < exchanges; i++)
{
    exchange.Run();
    if (burst > 0 && (i + 1) % burst == 0)
    {
        Thread.Sleep(pauseMs);
    }
}
// The file's last lines and its end are part of what was measured.
sink.Dispose();
wall.Stop();
process.Refresh();
double cpuNs = (process.TotalProcessorTime - cpu).TotalNanoseconds / exchanges;
records = exchange.Records.Messages - records;
long expected = stage is "parse" or "json" ? exchanges : 0;
if (records != expected)
{
    Console.Error.WriteLine($"pipeline-loop: {records} http records for {exchanges} exchanges ({expected} expected): not measuring what it says");
    return 1;
}
Console.WriteLine(FormattableString.Invariant(
    $"stage {stage} connections {connections} bytes {(cold ? "cold" : "hot")}{(distinct ? " targets distinct" : "")} burst {burst} wall_ns {wall.Elapsed.TotalNanoseconds / exchanges:F0} cpu_ns {cpuNs:F0} gen0 {GC.CollectionCount(0) - gen0}"));
return 0;
