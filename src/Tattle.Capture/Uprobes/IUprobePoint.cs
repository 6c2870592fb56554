namespace Tattle.Capture.Uprobes;

/// <summary>One place to put a uprobe: the file, the offset in it, and the cookie the BPF program reads there.</summary>
public interface IUprobePoint
{
    /// <summary>The file to attach in.</summary>
    string Path { get; }

    /// <summary>Where the uprobe goes (a file offset).</summary>
    ulong FileOffset { get; }

    /// <summary>The attach cookie.</summary>
    ulong Cookie { get; }

    /// <summary>
    /// The file offset of a USDT semaphore the kernel counts up while the probe is on (the program checks it before
    /// preparing the probe's arguments), or 0 for none.
    /// </summary>
    ulong RefCtrOffset => 0;

    /// <summary>Whether a return probe goes on too.</summary>
    bool NeedsReturn { get; }

    /// <summary>
    /// The file's identity, or null: uprobes are per inode, so one file reached by two paths (the program's path at
    /// launch, /proc/PID/exe at exec) must be probed once.
    /// </summary>
    Proc.FileContentsId? File { get; }
}

/// <summary>The BPF programs a set of uprobes runs: an entry and a return program, each also as a uprobe_multi twin.</summary>
/// <param name="Enter">The entry program (SEC("uprobe")).</param>
/// <param name="Exit">The return program (SEC("uretprobe")).</param>
public sealed record UprobePrograms(string Enter, string Exit)
{
    /// <summary>bpf/tattle.bpf.c's TLS plaintext probes.</summary>
    public static readonly UprobePrograms Tls = new("tattle_tls_enter", "tattle_tls_exit");

    /// <summary>bpf/tattle.bpf.c's function probes (tattle probe).</summary>
    public static readonly UprobePrograms Calls = new("tattle_call_enter", "tattle_call_exit");

    /// <summary>Every program pair; their _multi twins are loaded as uprobe_multi where the kernel has it.</summary>
    public static readonly IReadOnlyList<UprobePrograms> All = [Tls, Calls];

    /// <summary>The uprobe_multi twin of the entry program.</summary>
    public string EnterMulti => Enter + "_multi";

    /// <summary>The uprobe_multi twin of the return program.</summary>
    public string ExitMulti => Exit + "_multi";
}
