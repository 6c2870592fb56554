using Tattle.Capture.Bpf;
using Tattle.Capture.Uprobes;

namespace Tattle.Capture.Tls;

/// <summary>The TLS plaintext probes attached to traced processes.</summary>
public sealed class TlsProbes(BpfTracer tracer) : UprobeSet<TlsAttachPoint>(tracer, UprobePrograms.Tls);
