using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// Run all: dotnet run -c Release --project bench/Protocols -- --filter '*'
// One class: dotnet run -c Release --project bench/Protocols -- --filter '*Http1*'
// In-process: the machine may have no network for the per-benchmark project BenchmarkDotNet would restore.
var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance))
    .AddDiagnoser(MemoryDiagnoser.Default);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
