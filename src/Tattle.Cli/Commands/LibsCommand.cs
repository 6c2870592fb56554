using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Tattle.Capture.Elf;
using Tattle.Capture.Libs;
using Tattle.Capture.Proc;
using Tattle.Interop;

namespace Tattle.Cli.Commands;

/// <summary>`tattle libs -p PID | FILE [--symbols GLOB] [--usdt [GLOB]]`: the objects a process maps, their dynamic functions and USDT probes.</summary>
public static class LibsCommand
{
    /// <summary>Exit code for bad input: no such process, its maps not readable, a file that is not an ELF object.</summary>
    public const int BadInput = 2;

    private const string Name = "tattle libs";

    /// <summary>Builds the command with its options.</summary>
    public static Command Create()
    {
        var file = new Argument<string?>("FILE") { Description = "An ELF file to read instead of a process", Arity = ArgumentArity.ZeroOrOne };
        var pid = new Option<string?>("--pid", "-p") { Description = "The process whose mapped objects to list", HelpName = "PID" };
        var symbols = new Option<string?>("--symbols") { Description = "List the dynamic functions whose name matches GLOB (*, ?, [...]), exported and imported", HelpName = "GLOB" };
        var usdt = new Option<string?>("--usdt")
        {
            Description = "List the USDT (SystemTap SDT) probes whose PROVIDER:NAME matches GLOB (all without one)",
            HelpName = "GLOB",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var json = new Option<bool>("--json") { Description = "One JSON object per line: lib.object, lib.symbol and lib.usdt records" };
        var command = new Command("libs", "Show the objects a process maps (or one file), their symbols like nm -D, and their USDT probes") { file, pid, symbols, usdt, json };
        command.SetAction(parseResult => Run(
            parseResult.GetValue(pid), parseResult.GetValue(file), parseResult.GetValue(symbols),
            parseResult.GetResult(usdt) is null ? null : parseResult.GetValue(usdt) ?? "*", parseResult.GetValue(json),
            StandardStream.Output, StandardStream.ErrorWriter));
        return command;
    }

    /// <summary>Runs the command; separated from parsing so tests can call it with their own streams.</summary>
    /// <param name="usdtGlob">Null without --usdt; "*" for --usdt without a GLOB.</param>
    internal static int Run(string? pidArg, string? file, string? glob, string? usdtGlob, bool json, Stream stdout, TextWriter stderr)
    {
        if (pidArg is null && file is null && usdtGlob is not null && usdtGlob.Contains('/', StringComparison.Ordinal))
        {
            // Probe names have no '/': this was meant as the FILE, which the optional GLOB took.
            stderr.WriteLine($"{Name}: --usdt took '{Tattle.Records.TerminalText.Sanitize(usdtGlob)}' as its GLOB; put the FILE first: {Name} FILE --usdt");
            return BadInput;
        }
        if ((pidArg is null) == (file is null))
        {
            stderr.WriteLine($"{Name}: give either -p PID or a FILE, e.g. {Name} -p 1234 or {Name} /usr/lib/x86_64-linux-gnu/libssl.so.3");
            return BadInput;
        }
        var symbols = glob is null ? null : new SymbolGlob(glob);
        var usdt = usdtGlob is null ? null : new SymbolGlob(usdtGlob);
        int? pid = null;
        string comm = "";
        IReadOnlyList<LibObject> objects;
        if (pidArg is not null)
        {
            if (!int.TryParse(pidArg, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p <= 0)
            {
                stderr.WriteLine($"{Name}: '{Tattle.Records.TerminalText.Sanitize(pidArg)}' is not a process id");
                return BadInput;
            }
            pid = p;
            comm = ProcessInfo.ReadComm(p) ?? "?";
            switch (LibraryListing.ForProcess(p, symbols, usdt, out objects))
            {
                case MappedObjectsStatus.NoProcess:
                    stderr.WriteLine($"{Name}: no process with pid {p}");
                    return BadInput;
                case MappedObjectsStatus.PermissionDenied:
                    // As root this means ptrace restrictions (another user namespace, Yama), where root is no help.
                    string hint = Environment.IsPrivilegedProcess ? "permission denied even as root" : "permission denied; run as root";
                    stderr.WriteLine($"{Name}: cannot read /proc/{p}/maps ({comm}): {hint}");
                    return BadInput;
            }
        }
        else
        {
            var one = LibraryListing.ForFile(file!, symbols, usdt);
            if (one.Status != ElfStatus.Ok)
            {
                string why = one.Status == ElfStatus.IoError && !File.Exists(file) ? "no such file" : one.Error ?? "";
                stderr.WriteLine($"{Name}: {Tattle.Records.TerminalText.Sanitize(file!)}: {why}");
                return BadInput;
            }
            objects = [one];
        }
        using var buffered = new BufferedStream(stdout, 64 * 1024);
        if (json)
        {
            LibsJson.Write(buffered, pid, comm, objects, symbols is not null, usdt is not null);
        }
        else
        {
            using var writer = new StreamWriter(buffered, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
            if (pid is { } shown)
            {
                writer.WriteLine($"pid {shown} {comm}");
            }
            LibsTable.Write(writer, objects, symbols is not null, usdt is not null);
        }
        return 0;
    }

    /// <summary>"export" for a definition, "import" for an undefined reference.</summary>
    internal static string Kind(ElfDynamicSymbol s) => s.Defined ? "export" : "import";
}

/// <summary>Objects: path, build id, version, symbol table; symbols: object, kind, name@version, address; probes: object, provider, name, offsets, arguments.</summary>
internal static class LibsTable
{
    internal static void Write(TextWriter w, IReadOnlyList<LibObject> objects, bool symbols, bool usdt)
    {
        if (symbols)
        {
            WriteRows(w, ["OBJECT", "KIND", "SYMBOL", "ADDRESS"], "no dynamic function matches",
                objects.SelectMany(o => o.Symbols.Select(s => new[] { o.Path, LibsCommand.Kind(s), s.VersionedName, s.Defined ? TlsCommand.Hex(s.Address) : "-" })));
        }
        if (usdt)
        {
            WriteRows(w, ["OBJECT", "PROVIDER", "NAME", "OFFSET", "SEMAPHORE", "ARGUMENTS"], "no USDT probe matches",
                objects.SelectMany(o => o.Probes.Select(p => new[]
                {
                    o.Path, Shown(p.Provider), Shown(p.Name), p.FileOffset == 0 ? "-" : TlsCommand.Hex(p.FileOffset),
                    p.SemaphoreFileOffset == 0 ? "-" : TlsCommand.Hex(p.SemaphoreFileOffset), p.ArgumentText.Length == 0 ? "-" : Shown(p.ArgumentText),
                })));
            foreach (var o in objects)
            {
                foreach (var p in o.Probes.Where(p => p.Problem is not null))
                {
                    w.WriteLine($"  cannot attach {Shown(p.Provider)}:{Shown(p.Name)} in {o.Path}: {Shown(p.Problem!)}");
                }
            }
        }
        if (!symbols && !usdt)
        {
            WriteRows(w, ["OBJECT", "BUILD ID", "VERSION", "SYMTAB"], "no object read",
                objects.Where(o => o.Error is null).Select(o =>
                {
                    string version = string.Join(" ", new[] { o.Version, o.VersionDefinition }.Where(v => v is not null));
                    return new[] { o.Path, o.BuildId ?? "-", version.Length == 0 ? "-" : version, o.Stripped ? "stripped" : "symbols" };
                }));
        }
        foreach (var o in objects.Where(o => o.Error is not null))
        {
            w.WriteLine($"  not read: {o.Path} ({o.Error})");
        }
    }

    // Probe strings are bytes from the file: control characters in them must not reach the terminal.
    private static string Shown(string text) => Tattle.Records.TerminalText.Sanitize(text);

    private static void WriteRows(TextWriter w, string[] header, string none, IEnumerable<string[]> body)
    {
        var rows = new List<string[]> { header };
        rows.AddRange(body);
        if (rows.Count > 1)
        {
            TextTable.WriteAligned(w, rows);
        }
        else
        {
            w.WriteLine($"  {none}");
        }
    }
}

/// <summary>
/// `--json`: a lib.object record per object (with an error when unread), then with --symbols a lib.symbol per match and
/// with --usdt a lib.usdt per probe.
/// </summary>
internal static class LibsJson
{
    internal static void Write(Stream output, int? pid, string comm, IReadOnlyList<LibObject> objects, bool symbols, bool usdt)
    {
        using var json = new Utf8JsonWriter(output);
        foreach (var o in objects)
        {
            Start(json, "lib.object", pid, comm);
            json.WriteString("path", o.Path);
            if (o.ReadPath != o.Path)
            {
                json.WriteString("read_path", o.ReadPath);
            }
            if (o.Error is not null)
            {
                json.WriteString("error", o.Error);
            }
            else
            {
                json.WriteString("build_id", o.BuildId);
                json.WriteString("soname", o.Soname);
                json.WriteString("version", o.Version);
                json.WriteString("version_definition", o.VersionDefinition);
                json.WriteBoolean("stripped", o.Stripped);
            }
            TextTable.EndJsonLine(json, output);
            foreach (var s in symbols ? o.Symbols : [])
            {
                Start(json, "lib.symbol", pid, comm);
                json.WriteString("object", o.Path);
                json.WriteString("kind", LibsCommand.Kind(s));
                json.WriteString("name", s.Name);
                json.WriteString("version", s.Version);
                json.WriteString("symbol", s.VersionedName);
                if (s.Defined)
                {
                    json.WriteNumber("address", s.Address);
                    json.WriteNumber("size", s.Size);
                }
                TextTable.EndJsonLine(json, output);
            }
            foreach (var p in usdt ? o.Probes : [])
            {
                Start(json, "lib.usdt", pid, comm);
                WriteProbe(json, o.Path, p);
                TextTable.EndJsonLine(json, output);
            }
        }
    }

    private static void WriteProbe(Utf8JsonWriter json, string path, UsdtProbe p)
    {
        json.WriteString("object", path);
        json.WriteString("provider", p.Provider);
        json.WriteString("name", p.Name);
        json.WriteNumber("address", p.Address);
        json.WriteNumber("offset", p.FileOffset);
        if (p.SemaphoreAddress != 0)
        {
            json.WriteNumber("semaphore_address", p.SemaphoreAddress);
            json.WriteNumber("semaphore_offset", p.SemaphoreFileOffset);
        }
        json.WriteString("arguments", p.ArgumentText);
        json.WriteStartArray("args");
        foreach (var a in p.Arguments)
        {
            json.WriteStartObject();
            json.WriteString("kind", a.Kind switch
            {
                UsdtArgumentKind.Constant => "constant",
                UsdtArgumentKind.Register => "register",
                _ => "memory",
            });
            json.WriteNumber("size", a.Size);
            json.WriteBoolean("signed", a.Signed);
            if (a.Kind != UsdtArgumentKind.Constant)
            {
                json.WriteString("register", UsdtArgument.RegisterName(a.RegOffset));
                json.WriteNumber("reg_offset", a.RegOffset);
            }
            if (a.Kind != UsdtArgumentKind.Register)
            {
                json.WriteNumber(a.Kind == UsdtArgumentKind.Constant ? "value" : "offset", a.Value);
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
        if (p.Problem is not null)
        {
            json.WriteString("problem", p.Problem);
        }
    }

    private static void Start(Utf8JsonWriter json, string record, int? pid, string comm)
    {
        json.WriteStartObject();
        json.WriteString("record", record);
        if (pid is { } p)
        {
            json.WriteNumber("pid", p);
            json.WriteString("comm", comm);
        }
    }
}
