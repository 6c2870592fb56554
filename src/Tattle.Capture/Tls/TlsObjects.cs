using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;
using Tattle.Capture.Elf;
using Tattle.Capture.Proc;

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
            var parsed = Cache.TryGetValue(id, out var cached) ? cached : Parse(handle, id);
            if (parsed.Status != ElfStatus.Ok)
            {
                if (reportNotElf || parsed.Status != ElfStatus.NotElf)
                {
                    into.Unreadable.Add(new TlsUnreadable(mappedPath, Describe(parsed.Status)));
                }
                return;
            }
            foreach (var (kind, functions) in TlsCatalog.Classify(parsed.Functions))
            {
                into.Targets.Add(new TlsProbeTarget(path, mappedPath, kind, TlsCatalog.VersionFromFileName(mappedPath, kind), parsed.BuildId, id, functions));
            }
        }
    }

    private static Parsed Parse(SafeFileHandle handle, FileContentsId id)
    {
        Interlocked.Increment(ref _parses);
        var status = ElfFile.Open(handle, out var elf);
        Parsed parsed;
        using (elf)
        {
            parsed = elf is null ? new Parsed(status, null, []) : new Parsed(status, elf.BuildId, elf.FindFunctions(TlsCatalog.AllNames));
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

    private static string Describe(ElfStatus status) => status switch
    {
        ElfStatus.NotElf => "not an ELF file",
        ElfStatus.Unsupported => "not an x86_64 ELF64 little-endian object",
        ElfStatus.Truncated => "truncated ELF file",
        ElfStatus.Malformed => "malformed ELF headers",
        _ => "read error",
    };

    private sealed record Parsed(ElfStatus Status, string? BuildId, IReadOnlyList<ElfFunction> Functions);
}

/// <summary>A scan being collected: targets, unreadable objects, and the files already seen (one inode, one entry).</summary>
internal sealed class ScanBuilder
{
    internal List<TlsProbeTarget> Targets { get; } = [];

    internal List<TlsUnreadable> Unreadable { get; } = [];

    internal HashSet<FileContentsId> Seen { get; } = [];

    internal TlsScan Build() => new(TlsScanStatus.Ok, Targets, Unreadable);
}
