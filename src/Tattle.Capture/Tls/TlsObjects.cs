using System.Collections.Concurrent;
using Iced.Intel;
using Microsoft.Win32.SafeHandles;
using Tattle.Capture.Elf;
using Tattle.Capture.Proc;
using Tattle.Capture.Tls.Go;

namespace Tattle.Capture.Tls;

/// <summary>Examines one object file for TLS libraries, caching what each file's symbols say for the life of the process.</summary>
/// <remarks>
/// A static OpenSSL can live in any object, so every executable mapping is examined rather than guessed at by name;
/// the cache makes that cheap: the libraries every process maps (libc, libm, libssl) are parsed once, and a file is
/// re-read only when its device, inode, size or mtime change.
/// </remarks>
internal static class TlsObjects
{
    /// <summary>Past this many distinct files the cache starts over (a bound on memory, not expected to be reached).</summary>
    internal const int MaxCached = 4096;

    private static readonly ConcurrentDictionary<FileContentsId, Parsed> Cache = new();
    private static long _parses;

    /// <summary>How many files have been parsed (cache misses); tests check repeated scans parse nothing.</summary>
    internal static long Parses => Interlocked.Read(ref _parses);

    /// <summary>Collects what one file holds into <paramref name="into"/>.</summary>
    /// <param name="path">The path to open and attach by.</param>
    /// <param name="mappedPath">The path as the process sees it (reported in unreadable entries and targets).</param>
    /// <param name="into">The scan being built.</param>
    /// <param name="reportNotElf">False where non-ELF files are expected (linker scripts named libfoo.so).</param>
    internal static void Scan(string path, string mappedPath, ScanBuilder into, bool reportNotElf)
    {
        SafeFileHandle handle;
        try
        {
            handle = ProcNative.OpenRegularFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            into.Unreadable.Add(new TlsUnreadable(mappedPath, OpenFailure(e)));
            return;
        }
        using (handle)
        {
            if (ProcNative.StatFdContents((int)handle.DangerousGetHandle(), out var id) != 0)
            {
                into.Unreadable.Add(new TlsUnreadable(mappedPath, "cannot stat"));
                return;
            }
            if (!into.Seen.Add(id))
            {
                return;
            }
            if (Path.GetFileName(mappedPath) == "libjvm.so")
            {
                // The JVM's TLS (JSSE) is Java code: plaintext never passes through a native function to probe.
                into.Unreadable.Add(new TlsUnreadable(mappedPath, "TLS runs in the JVM's Java code (JSSE); no native call carries the plaintext", "Java JSSE"));
            }
            var parsed = Cache.TryGetValue(id, out var cached) ? cached : Parse(handle, id);
            if (parsed.Status != ElfStatus.Ok)
            {
                if (reportNotElf || parsed.Status != ElfStatus.NotElf)
                {
                    into.Unreadable.Add(new TlsUnreadable(mappedPath, parsed.Status.Describe()));
                }
                return;
            }
            foreach (var (kind, functions) in TlsCatalog.Classify(parsed.Functions))
            {
                var sited = functions.Select(f => TlsAttachPoint.ReadAtEntry(kind, f.Role) && parsed.Sites.TryGetValue(f.Name, out ulong site) && site != f.FileOffset
                    ? f with { ProbeOffset = site } : f).ToList();
                into.Targets.Add(new TlsProbeTarget(path, mappedPath, kind, TlsCatalog.VersionFromFileName(mappedPath, kind), parsed.BuildId, id, sited));
            }
            if (parsed.Go is { IsGo: true, Functions.Count: > 0 } go)
            {
                AddGo(path, mappedPath, parsed.BuildId, id, go, into);
            }
        }
    }

    private const string GoStack = "Go crypto/tls";

    /// <summary>A Go program that links crypto/tls: a target when its ABI and layout are known, otherwise unreadable and why.</summary>
    private static void AddGo(string path, string mappedPath, string? buildId, FileContentsId id, GoBinaryInfo go, ScanBuilder into)
    {
        if (GoConnLayout.For(go.Version, out string reason) is not { } layout)
        {
            into.Unreadable.Add(new TlsUnreadable(mappedPath, reason, GoStack));
            return;
        }
        var functions = new List<TlsFunction>();
        foreach (var f in go.Functions)
        {
            bool read = f.Name == GoBinary.TlsFunctionNames[1];
            functions.Add(new TlsFunction(f.Name, read ? TlsRole.Read : TlsRole.Write, f.Address, f.FileOffset, ReturnsSsize: true, read ? f.ReturnOffsets : null, f.ProbeOffset));
        }
        if (functions.Any(f => f.Role == TlsRole.Read && f.ReturnOffsets is []))
        {
            into.Unreadable.Add(new TlsUnreadable(mappedPath, "no RET found in (*Conn).Read", GoStack));
            return;
        }
        into.Targets.Add(new TlsProbeTarget(path, mappedPath, TlsLibraryKind.Go, go.Version, buildId, id, functions, new GoTlsDetails(go.Stripped, layout)));
    }

    private static Parsed Parse(SafeFileHandle handle, FileContentsId id)
    {
        Interlocked.Increment(ref _parses);
        var status = ElfFile.Open(handle, out var elf);
        Parsed parsed;
        using (elf)
        {
            if (elf is null)
            {
                parsed = new Parsed(status, null, [], null, EmptySites);
            }
            else
            {
                var functions = elf.FindFunctions(TlsCatalog.AllNames);
                parsed = new Parsed(status, elf.BuildId, functions, ReadGo(elf), ProbeSites(elf, functions));
            }
        }
        if (status == ElfStatus.IoError)
        {
            return parsed; // may work next time
        }
        if (Cache.Count >= MaxCached)
        {
            Cache.Clear();
        }
        Cache[id] = parsed;
        return parsed;
    }

    private static string OpenFailure(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "not found",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };


    // Only files with Go's own sections are decoded: the rest (every shared library) costs two section lookups.
    private static GoBinaryInfo? ReadGo(ElfFile elf) =>
        elf.TryFindSection(".go.buildinfo", out _) || elf.TryFindSection(".gopclntab", out _) ? GoBinary.Read(elf, GoBinary.TlsFunctionNames) : null;

    private static readonly Dictionary<string, ulong> EmptySites = [];

    // Where one trap would suffice for each function found, by name; Scan uses it for those read at entry
    // (TlsAttachPoint.ReadAtEntry), which the classification, not the name, decides.
    private static Dictionary<string, ulong> ProbeSites(ElfFile elf, IReadOnlyList<ElfFunction> functions)
    {
        var sites = new Dictionary<string, ulong>();
        foreach (var f in functions.Where(f => f.Size is > 0 and <= 4096))
        {
            var code = new byte[f.Size];
            if (elf.TryRead(code, f.FileOffset))
            {
                // (session, buf, len) in RDI, RSI, RDX by the System V ABI.
                sites[f.Name] = ProbeSite.Find(code, f.Address, f.FileOffset, f.FileOffset, [Register.RDI, Register.RSI, Register.RDX]);
            }
        }
        return sites;
    }

    private sealed record Parsed(ElfStatus Status, string? BuildId, IReadOnlyList<ElfFunction> Functions, GoBinaryInfo? Go, IReadOnlyDictionary<string, ulong> Sites);
}

/// <summary>A scan being collected: targets, unreadable objects, and the files already seen (one inode, one entry).</summary>
internal sealed class ScanBuilder
{
    internal List<TlsProbeTarget> Targets { get; } = [];

    internal List<TlsUnreadable> Unreadable { get; } = [];

    internal HashSet<FileContentsId> Seen { get; } = [];

    internal TlsScan Build() => new(TlsScanStatus.Ok, Targets, Unreadable);
}
