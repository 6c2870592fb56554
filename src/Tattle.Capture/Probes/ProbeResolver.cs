using System.Collections.Concurrent;
using Iced.Intel;
using Tattle.Capture.Elf;
using Tattle.Capture.Proc;
using Tattle.Capture.Tls;
using Tattle.Capture.Tls.Go;

namespace Tattle.Capture.Probes;

/// <summary>
/// Turns probe specs into uprobe places: the objects a process maps, an executable about to run, and the libraries
/// installed on the system (a program may dlopen them later: python imports a module linked to libzmq), each
/// examined once per inode. Every function found is numbered in <see cref="Functions"/>; what cannot be probed is
/// kept in <see cref="Failures"/>, once per reason.
/// </summary>
public sealed class ProbeResolver
{
    private readonly IReadOnlyList<ProbeSpec> _specs;
    private readonly IReadOnlyList<string> _directories;
    private readonly List<string> _failures = [];
    private readonly ConcurrentDictionary<(FileContentsId, string), IReadOnlyList<CallAttachPoint>> _cache = new();

    /// <param name="specs">What to probe.</param>
    /// <param name="functions">Numbers the functions found (and holds the probe cap).</param>
    /// <param name="systemDirectories">Where installed libraries are looked for (default: the system's).</param>
    public ProbeResolver(IReadOnlyList<ProbeSpec> specs, ProbedFunctions functions, IReadOnlyList<string>? systemDirectories = null)
    {
        _specs = specs;
        Functions = functions;
        _directories = systemDirectories ?? TlsLibraries.SystemDirectories;
    }

    /// <summary>The specs, as given.</summary>
    public IReadOnlyList<ProbeSpec> Specs => _specs;

    /// <summary>The functions found so far, by number.</summary>
    public ProbedFunctions Functions { get; }

    /// <summary>Why things could not be probed, each reason once, in the order met.</summary>
    public IReadOnlyList<string> Failures
    {
        get
        {
            lock (_failures)
            {
                return [.. _failures];
            }
        }
    }

    /// <summary>The first spec that matched more than the probe cap allows, with the reason; null while none did.</summary>
    public string? OverCap { get; private set; }

    /// <summary>Specs that have matched a function in some object so far.</summary>
    public IReadOnlyCollection<ProbeSpec> Matched => [.. _matched.Keys];

    private readonly ConcurrentDictionary<ProbeSpec, bool> _matched = new();

    /// <summary>The installed libraries the specs name (by path, or by name in the system's library directories).</summary>
    public IReadOnlyList<CallAttachPoint> System()
    {
        var points = new List<CallAttachPoint>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var spec in _specs.Where(s => s.Library.Contains('/')))
        {
            if (File.Exists(spec.Library) && seen.Add(TlsLibraries.RealPath(spec.Library)))
            {
                points.AddRange(PointsOf(spec.Library, spec.Library));
            }
        }
        foreach (string dir in _directories.Where(Directory.Exists))
        {
            foreach (string file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
            {
                if (!_specs.Any(s => !s.Library.Contains('/') && s.MatchesLibrary(file)))
                {
                    continue;
                }
                string real = TlsLibraries.RealPath(file);
                if (seen.Add(real))
                {
                    // Attached and named by the real file (libzmq.so.5.2.4, not the development link libzmq.so),
                    // matched by the name the program asks for too (libzmq.so.5).
                    points.AddRange(PointsOf(real, real, alias: file, quietIfNotElf: true));
                }
            }
        }
        return points;
    }

    /// <summary>The matching objects the process maps now (through /proc/PID/root in another mount namespace).</summary>
    public IReadOnlyList<CallAttachPoint> ForProcess(int pid)
    {
        if (MappedObjects.ForProcess(pid, out var objects) != MappedObjectsStatus.Ok)
        {
            return [];
        }
        var points = new List<CallAttachPoint>();
        foreach (var o in objects.Where(o => !o.Deleted))
        {
            points.AddRange(PointsOf(o.ReadPath, o.MappedPath));
        }
        return points;
    }

    /// <summary>The executable itself, when a spec names it.</summary>
    public IReadOnlyList<CallAttachPoint> ForExecutable(string path, string? invokedAs = null) =>
        PointsOf(path, path, invokedAs);

    /// <summary>The probe places in one file for every spec its name matches.</summary>
    private IReadOnlyList<CallAttachPoint> PointsOf(string path, string mappedPath, string? alias = null, bool quietIfNotElf = false)
    {
        var specs = _specs.Where(s => s.MatchesLibrary(mappedPath) || s.MatchesLibrary(path) || (alias is not null && s.MatchesLibrary(alias))).ToList();
        if (specs.Count == 0)
        {
            return [];
        }
        FileContentsId id;
        try
        {
            using var handle = ProcNative.OpenRegularFile(path);
            if (ProcNative.StatFdContents((int)handle.DangerousGetHandle(), out id) != 0)
            {
                return [];
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Failure($"{mappedPath}: {e.Message}");
            return [];
        }
        string key = string.Join('\n', specs.Select(s => s.Text));
        return _cache.GetOrAdd((id, key), _ => Resolve(path, mappedPath, id, specs, quietIfNotElf));
    }

    private List<CallAttachPoint> Resolve(string path, string mappedPath, FileContentsId id, List<ProbeSpec> specs, bool quietIfNotElf)
    {
        var points = new List<CallAttachPoint>();
        var status = ElfFile.Open(path, out var elf);
        using (elf)
        {
            if (elf is null)
            {
                // A linker script named libc.so is no object: only a mapped or named file must be one.
                if (status != ElfStatus.NotElf || !quietIfNotElf)
                {
                    Failure($"{mappedPath}: {status.Describe()}");
                }
                return points;
            }
            bool go = elf.TryFindSection(".gopclntab", out _) || elf.TryFindSection(".go.buildinfo", out _);
            foreach (var spec in specs.Where(s => s.Usdt))
            {
                AddUsdt(elf, spec, path, mappedPath, id, points);
            }
            foreach (var spec in specs.Where(s => !s.Usdt))
            {
                status = elf.ReadFunctions(spec.Function.IsMatch, out var functions);
                if (status != ElfStatus.Ok)
                {
                    Failure($"{mappedPath}: {status.Describe()}");
                    continue;
                }
                foreach (var f in functions.OrderBy(f => f.Name, StringComparer.Ordinal))
                {
                    var signature = spec.Signature ?? BuiltinSignatures.Find(f.Name);
                    // No uretprobes on Go code: the runtime moves goroutine stacks, and a return address the kernel
                    // replaced would be copied to the new stack and crash the program.
                    var probed = Functions.Add(mappedPath, f.Name, signature, entryOnly: go, goAbi: go);
                    if (probed is null)
                    {
                        OverCapBy(spec, "functions");
                        return points;
                    }
                    points.Add(new CallAttachPoint(path, probed, go ? GoEntry(elf, f) : f.FileOffset, id));
                    _matched[spec] = true;
                    foreach (string companion in BuiltinSignatures.CompanionsOf(f.Name))
                    {
                        AddCompanion(elf, path, mappedPath, id, companion, points);
                    }
                }
            }
        }
        return points;
    }

    /// <summary>
    /// Where a Go function's entry probe goes: past its stack-growth check (runtime.morestack re-runs the function
    /// from its entry, and an entry probe would see that call twice), on the first instruction from there that the
    /// kernel emulates rather than single-steps, before any argument register is written.
    /// </summary>
    private static ulong GoEntry(ElfFile elf, ElfFunction f)
    {
        if (f.Size is 0 or > MaxGoCodeBytes)
        {
            return f.FileOffset;
        }
        var code = new byte[f.Size];
        if (!elf.TryRead(code, f.FileOffset))
        {
            return f.FileOffset;
        }
        ulong body = GoBinary.FindBody(code, f.Address, f.FileOffset);
        return ProbeSite.Find(code, f.Address, f.FileOffset, body, GoArguments);
    }

    private const ulong MaxGoCodeBytes = 1 << 20;

    // Go's first six integer argument registers, and the goroutine pointer.
    private static readonly Register[] GoArguments = [Register.RAX, Register.RBX, Register.RCX, Register.RDI, Register.RSI, Register.R8, Register.R14];

    private void Failure(string reason)
    {
        lock (_failures)
        {
            if (!_failures.Contains(reason))
            {
                _failures.Add(reason);
            }
        }
    }

    private void OverCapBy(ProbeSpec spec, string what)
    {
        string reason = $"{spec.Text}: more {what} match than --max-probes {Functions.Max} allows; narrow the pattern or raise --max-probes";
        OverCap ??= reason;
        Failure(reason);
    }

    /// <summary>The USDT sites of <paramref name="elf"/> that <paramref name="spec"/> names (PROVIDER:NAME), entry only.</summary>
    private void AddUsdt(ElfFile elf, ProbeSpec spec, string path, string mappedPath, FileContentsId id, List<CallAttachPoint> points)
    {
        var probes = UsdtProbes.Read(elf, out var status);
        if (status != ElfStatus.Ok && probes.Count == 0)
        {
            Failure($"{mappedPath}: USDT notes: {status.Describe()}");
            return;
        }
        foreach (var p in probes.Where(p => spec.Function.IsMatch($"{p.Provider}:{p.Name}")))
        {
            if (p.Problem is { } problem)
            {
                Failure($"{mappedPath}: usdt {p.Provider}:{p.Name} at 0x{p.FileOffset:x}: {problem}");
                continue;
            }
            // Without a signature each argument is shown as the integer its note says it is.
            var signature = spec.Signature ?? new CallSignature(
                [.. p.Arguments.Take(CallSignature.MaxArguments).Select(a => new CallArgument(a.Signed ? ArgType.Long : ArgType.ULong))], ArgType.Void);
            var probed = Functions.Add(mappedPath, $"{p.Provider}:{p.Name}", signature, entryOnly: true, usdt: p.Arguments, site: p.FileOffset);
            if (probed is null)
            {
                OverCapBy(spec, "probes");
                return;
            }
            points.Add(new CallAttachPoint(path, probed, p.FileOffset, id, p.SemaphoreFileOffset));
            _matched[spec] = true;
        }
    }

    /// <summary>A function probed for another's sake (its records feed the other's, and are not written).</summary>
    private void AddCompanion(ElfFile elf, string path, string mappedPath, FileContentsId id, string name, List<CallAttachPoint> points)
    {
        if (elf.ReadFunctions(n => n == name, out var found) != ElfStatus.Ok || found.Count == 0)
        {
            return;
        }
        if (Functions.Add(mappedPath, name, BuiltinSignatures.Find(name), entryOnly: false, hidden: true) is { } probed
            && !points.Any(p => p.Function == probed))
        {
            points.Add(new CallAttachPoint(path, probed, found[0].FileOffset, id));
        }
    }
}
