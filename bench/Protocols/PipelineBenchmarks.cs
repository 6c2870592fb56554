using BenchmarkDotNet.Attributes;
using Tattle.Output.JsonLines;

namespace Tattle.Bench.Protocols;

/// <summary>
/// Tattle's user-space work for one traced request, stage by stage: the overhead benchmark's exchange
/// (<see cref="PipelineExchange"/>) on one connection, with the same bytes each time (bench/PipelineLoop runs it
/// in the native build, on many connections, with bytes out of the caches). Each benchmark adds a stage to the one
/// before: tracking (connection lookup, byte counts), then reassembly, HTTP parsing and the record with the summary,
/// then the JSON Lines line. The difference between two is that stage's cost per request. --stats is measured beside
/// them: parsing without the header fields, counted per route instead of written.
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private PipelineExchange _track = null!;
    private PipelineExchange _parse = null!;
    private PipelineExchange _json = null!;
    private PipelineExchange _stats = null!;

    [GlobalSetup]
    public void Setup()
    {
        _track = new PipelineExchange(new PipelineExchange.DiscardRecords(), parse: false);
        _parse = new PipelineExchange(new PipelineExchange.DiscardRecords(), parse: true);
        _json = new PipelineExchange(new JsonLinesSink(Stream.Null), parse: true);
        _stats = new PipelineExchange(new JsonLinesSink(Stream.Null), parse: true, stats: true);
        foreach (var e in new[] { _track, _parse, _json, _stats })
        {
            e.Run(); // the connection is adopted and announced once, outside the measurement
        }
        if (_parse.Records.Messages != 1 || _json.Records.Messages != 1 || _stats.Records.Messages != 0)
        {
            throw new InvalidOperationException($"http records per run: {_parse.Records.Messages}, {_json.Records.Messages}, --stats {_stats.Records.Messages} (1, 1 and 0 expected): the benchmark would not measure what it says");
        }
    }

    [Benchmark(Baseline = true, Description = "decode handed over, tracking")]
    public void Track() => _track.Run();

    [Benchmark(Description = "+ reassembly, HTTP parsing, record, summary")]
    public void Parse() => _parse.Run();

    [Benchmark(Description = "+ JSON Lines (to a null stream)")]
    public void ParseAndJson() => _json.Run();

    [Benchmark(Description = "--stats: parsed without header fields, counted per route")]
    public void Stats() => _stats.Run();
}
