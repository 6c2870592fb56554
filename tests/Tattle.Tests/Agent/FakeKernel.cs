using Tattle.Agent;
using Tattle.Capture.Bpf;

namespace Tattle.Tests.Agent;

/// <summary>The kernel's process filter, as calls remembered.</summary>
internal sealed class FakeKernel : IProcessFilter
{
    public Dictionary<int, TraceDepth> Traced { get; } = [];

    public List<int> Untraced { get; } = [];

    public void Trace(int pid, TraceDepth depth) => Traced[pid] = depth;

    public void Untrace(int pid) => Untraced.Add(pid);
}
