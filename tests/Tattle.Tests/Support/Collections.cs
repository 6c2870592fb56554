namespace Tattle.Tests.Support;

/// <summary>Tests that load BPF programs run one at a time: they measure and count kernel-wide things.</summary>
[CollectionDefinition("bpf", DisableParallelization = true)]
public sealed class BpfCollection
{
}

/// <summary>Tests that build the published tool (./tattle): alone, so the build's CPU does not skew other tests.</summary>
[CollectionDefinition("published", DisableParallelization = true)]
public sealed class PublishedCollection
{
}
