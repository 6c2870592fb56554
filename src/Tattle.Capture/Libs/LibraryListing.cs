using Tattle.Capture.Elf;
using Tattle.Capture.Proc;

namespace Tattle.Capture.Libs;

/// <summary>One object: a process's mapped executable or library, or a file named directly.</summary>
/// <param name="Path">The path the process sees (or the file as given).</param>
/// <param name="ReadPath">Where it was read from: through /proc/PID/root for a process in another mount namespace.</param>
/// <param name="Status">Ok, or why the object could not be read (<see cref="Error"/> says it in words).</param>
/// <param name="Error">Null when read; otherwise a reason fit to print after the path.</param>
/// <param name="BuildId">NT_GNU_BUILD_ID as hex, when present.</param>
/// <param name="Soname">DT_SONAME, when present.</param>
/// <param name="Version">What follows ".so." in the soname (libssl.so.3 gives 3), when there is such a part.</param>
/// <param name="VersionDefinition">The highest non-base name in `.gnu.version_d` (OPENSSL_3.0.0), when it defines versions.</param>
/// <param name="Stripped">No `.symtab`: only the dynamic symbols are left.</param>
/// <param name="Symbols">The dynamic functions that matched the glob, exports and imports in table order (empty without one).</param>
/// <param name="Probes">The USDT probes whose `PROVIDER:NAME` matched the USDT glob, in note order (empty without one).</param>
public sealed record LibObject(
    string Path,
    string ReadPath,
    ElfStatus Status,
    string? Error,
    string? BuildId,
    string? Soname,
    string? Version,
    string? VersionDefinition,
    bool Stripped,
    IReadOnlyList<ElfDynamicSymbol> Symbols,
    IReadOnlyList<UsdtProbe> Probes);

/// <summary>Lists the objects a process maps executable, or one file, with build id, version, matching dynamic functions and USDT probes.</summary>
public static class LibraryListing
{
    /// <summary>Every distinct object of <paramref name="pid"/> (/proc/PID/exe first); an empty list unless Ok.</summary>
    public static MappedObjectsStatus ForProcess(int pid, SymbolGlob? symbols, out IReadOnlyList<LibObject> objects) =>
        ForProcess(pid, symbols, null, out objects);

    /// <summary>As above, with the USDT probes whose `PROVIDER:NAME` matches <paramref name="usdt"/>.</summary>
    public static MappedObjectsStatus ForProcess(int pid, SymbolGlob? symbols, SymbolGlob? usdt, out IReadOnlyList<LibObject> objects)
    {
        var status = MappedObjects.ForProcess(pid, out var mapped);
        objects = mapped.Select(m => m.Deleted
            ? Unread(m.MappedPath, m.ReadPath, ElfStatus.IoError, "deleted or replaced since it was mapped; restart the process to read it")
            : Read(m.MappedPath, m.ReadPath, symbols, usdt)).ToList();
        return status;
    }

    /// <summary>One file; its <see cref="LibObject.Status"/> says whether it was an ELF object that could be read.</summary>
    public static LibObject ForFile(string path, SymbolGlob? symbols, SymbolGlob? usdt = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Read(path, path, symbols, usdt);
    }

    /// <summary>What follows ".so." in a soname, or null (libfoo.so, or no ".so." at all).</summary>
    public static string? SonameVersion(string? soname)
    {
        int at = soname?.IndexOf(".so.", StringComparison.Ordinal) ?? -1;
        return at < 0 || at + 4 >= soname!.Length ? null : soname[(at + 4)..];
    }

    /// <summary>
    /// The highest of the non-base version definitions by the numbers in their names, compared as numbers
    /// (GLIBC_2.36 above GLIBC_2.4, and above GLIBC_PRIVATE, which has none); equal numbers by name.
    /// </summary>
    public static string? HighestDefinition(IEnumerable<ElfVersionDefinition> definitions)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        return definitions.Where(d => !d.IsBase).Select(d => d.Name).Order(VersionNameComparer.Instance).LastOrDefault();
    }

    private static LibObject Read(string path, string readPath, SymbolGlob? glob, SymbolGlob? usdt)
    {
        var status = ElfFile.Open(readPath, out var file);
        if (status != ElfStatus.Ok || file is null)
        {
            return Unread(path, readPath, status, status.Describe());
        }
        using (file)
        {
            status = file.ReadVersions(out var versions);
            IReadOnlyList<ElfDynamicSymbol> symbols = [];
            if (status == ElfStatus.Ok && glob is not null)
            {
                status = file.ReadDynamicSymbols(out symbols);
            }
            IReadOnlyList<UsdtProbe> probes = [];
            if (status == ElfStatus.Ok && usdt is not null)
            {
                probes = UsdtProbes.Read(file, out status).Where(p => usdt.IsMatch($"{p.Provider}:{p.Name}")).ToList();
            }
            if (status != ElfStatus.Ok)
            {
                return Unread(path, readPath, status, status.Describe()) with { BuildId = file.BuildId, Stripped = !file.HasSymTab };
            }
            var matching = glob is null ? [] : symbols.Where(s => s.IsFunction && s.Name.Length > 0 && glob.IsMatch(s.Name)).ToList();
            return new LibObject(path, readPath, ElfStatus.Ok, null, file.BuildId, versions.Soname, SonameVersion(versions.Soname),
                HighestDefinition(versions.Definitions), !file.HasSymTab, matching, probes);
        }
    }

    private static LibObject Unread(string path, string readPath, ElfStatus status, string error) =>
        new(path, readPath, status, error, null, null, null, null, false, [], []);


    /// <summary>Orders version names by the runs of digits in them, as numbers, then ordinally.</summary>
    private sealed class VersionNameComparer : IComparer<string>
    {
        internal static readonly VersionNameComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            var a = Numbers(x ?? "");
            var b = Numbers(y ?? "");
            for (int i = 0; i < Math.Min(a.Count, b.Count); i++)
            {
                // Without leading zeros, a longer run of digits is the larger number (no overflow on long runs).
                int c = a[i].Length != b[i].Length ? a[i].Length.CompareTo(b[i].Length) : string.CompareOrdinal(a[i], b[i]);
                if (c != 0)
                {
                    return c;
                }
            }
            return a.Count != b.Count ? a.Count.CompareTo(b.Count) : string.CompareOrdinal(x, y);
        }

        private static List<string> Numbers(string name)
        {
            var runs = new List<string>();
            for (int i = 0; i < name.Length;)
            {
                if (!char.IsAsciiDigit(name[i]))
                {
                    i++;
                    continue;
                }
                int start = i;
                while (i < name.Length && char.IsAsciiDigit(name[i]))
                {
                    i++;
                }
                string run = name[start..i].TrimStart('0');
                runs.Add(run);
            }
            return runs;
        }
    }
}
