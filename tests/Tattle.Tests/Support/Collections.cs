namespace Tattle.Tests.Support;

/// <summary>Tests that load BPF programs run one at a time: they measure and count kernel-wide things.</summary>
[CollectionDefinition("bpf", DisableParallelization = true)]
public sealed class BpfCollection
{
}
