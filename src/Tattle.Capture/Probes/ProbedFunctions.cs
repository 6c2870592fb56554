namespace Tattle.Capture.Probes;

/// <summary>One function probed in a trace: its index is the low 16 bits of its probes' cookie.</summary>
/// <param name="Index">Its place in <see cref="ProbedFunctions"/>.</param>
/// <param name="Library">The object's path as the process maps it.</param>
/// <param name="Function">The function's name (a USDT probe's PROVIDER:NAME).</param>
/// <param name="Signature">How its arguments are read, or null (the result alone, as a long).</param>
/// <param name="EntryOnly">No return probe (Go code, a USDT probe): no result, no duration.</param>
/// <param name="Hidden">Probed for another call's sake (curl_easy_setopt's URL for curl_easy_perform): no record of its own.</param>
/// <param name="GoAbi">Go code: arguments in Go's registers (RAX, RBX, RCX, RDI, RSI, R8).</param>
/// <param name="Usdt">A USDT site: where its note says each argument is (the kernel computes them).</param>
public sealed record ProbedFunction(int Index, string Library, string Function, CallSignature? Signature, bool EntryOnly, bool Hidden = false, bool GoAbi = false,
    IReadOnlyList<Elf.UsdtArgument>? Usdt = null)
{
    /// <summary>The attach cookie (bpf/tattle.h, TATTLE_CALL_*).</summary>
    public ulong Cookie => (uint)Index | (GoAbi ? 0x10000UL : 0) | (EntryOnly ? 0x20000UL : 0) | (Usdt is null ? 0 : 0x40000UL)
        | (Signature?.CookieBits ?? 0);
}

/// <summary>
/// The functions probed in one trace, numbered in the order they were first attached; the kernel's records carry the
/// number. Thread-safe: probes are attached on a worker thread while the session reads records. Bounded by the
/// probe cap: past it, <see cref="Add"/> refuses.
/// </summary>
public sealed class ProbedFunctions(int max)
{
    private readonly Lock _gate = new();
    private readonly List<ProbedFunction> _list = [];
    private readonly Dictionary<(string Library, string Function, ulong Site), ProbedFunction> _byName = [];

    /// <summary>The cookie holds 16 bits of index.</summary>
    public const int Limit = 65536;

    /// <summary>The cap on functions probed (--max-probes).</summary>
    public int Max { get; } = Math.Clamp(max, 1, Limit);

    /// <summary>Functions registered so far.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _list.Count;
            }
        }
    }

    /// <summary>The function numbered <paramref name="index"/>, or null for a number never given.</summary>
    public ProbedFunction? this[int index]
    {
        get
        {
            lock (_gate)
            {
                return index >= 0 && index < _list.Count ? _list[index] : null;
            }
        }
    }

    /// <summary>
    /// The number of a function (the same for the same library path and name, and USDT site), or null when a new one
    /// would pass <see cref="Max"/>. The sites of one USDT probe are numbered apart: each has its own argument specs.
    /// </summary>
    public ProbedFunction? Add(string library, string function, CallSignature? signature, bool entryOnly, bool hidden = false, bool goAbi = false,
        IReadOnlyList<Elf.UsdtArgument>? usdt = null, ulong site = 0)
    {
        lock (_gate)
        {
            if (_byName.TryGetValue((library, function, site), out var known))
            {
                return known;
            }
            if (_list.Count >= Max)
            {
                return null;
            }
            var f = new ProbedFunction(_list.Count, library, function, signature, entryOnly, hidden, goAbi, usdt);
            _list.Add(f);
            _byName[(library, function, site)] = f;
            return f;
        }
    }
}

/// <summary>A uprobe on one function (or one RET, or one USDT site) of one object.</summary>
/// <param name="RefCtrOffset">A USDT site's semaphore (a file offset), or 0.</param>
public sealed record CallAttachPoint(string Path, ProbedFunction Function, ulong FileOffset, Proc.FileContentsId? File, ulong RefCtrOffset = 0)
    : Uprobes.IUprobePoint
{
    public ulong Cookie => Function.Cookie;

    public bool NeedsReturn => !Function.EntryOnly;
}
