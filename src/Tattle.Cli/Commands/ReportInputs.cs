using System.Text.Json;
using Tattle.Cli.Tracing;
using Tattle.Interop;
using Tattle.Report;
using Tattle.Sandbox;

namespace Tattle.Cli.Commands;

/// <summary>
/// The files report and diff read: JSON Lines traces (`-` for standard input), pcap/pcapng captures (through
/// `tattle read`'s path), a report's JSON (diff), a policy (firewall rules). Problems are one line and exit 2.
/// </summary>
internal static class ReportInputs
{
    /// <summary>A file could not be used: the line to print, and exit 2.</summary>
    internal sealed class InputException(string message) : Exception(message);

    /// <summary>Aggregates traces into an inventory; a file that is no trace is an <see cref="InputException"/>.</summary>
    public static Inventory Load(IReadOnlyList<string> paths, TextWriter stderr)
    {
        var builder = new InventoryBuilder();
        foreach (var path in paths)
        {
            Add(builder, path, stderr);
        }
        return builder.Build();
    }

    /// <summary>What the file holds, without reading it (standard input is always JSON Lines).</summary>
    public static InputKind Kind(string path)
    {
        if (path == "-")
        {
            return InputKind.Json;
        }
        using var stream = Open(path);
        return TraceInput.Detect(stream);
    }

    /// <summary>A report's JSON (report --json) when the file is one, else null.</summary>
    public static Inventory? TryReadReportJson(string path)
    {
        using var stream = Open(path);
        try
        {
            using var doc = JsonDocument.Parse(stream);
            return doc.RootElement.ValueKind == JsonValueKind.Object && InventoryBuilder.Str(doc.RootElement, "type") == InventoryJson.Type
                ? InventoryJson.Read(doc.RootElement) : null;
        }
        catch (JsonException)
        {
            return null; // JSON Lines: more than one value
        }
    }

    /// <summary>A policy file; its errors are already one line naming the file.</summary>
    public static Policy LoadPolicy(string path) => LoadPolicy(path, []);

    /// <summary>
    /// The policy of a file (none: the defaults, allowing nothing) with entries given as HOST|CIDR[:PORT] added
    /// (check's --allow); an error is one line naming the file or the entry.
    /// </summary>
    public static Policy LoadPolicy(string? path, IReadOnlyList<string> allow)
    {
        try
        {
            var policy = path is null ? new Policy([]) : PolicyFile.LoadPolicy(path);
            return allow.Count == 0 ? policy
                : policy with { Allow = [.. policy.Allow, .. allow.Select(e => PolicyFile.ParseEntry(e, "--allow"))] };
        }
        catch (SandboxException e)
        {
            throw new InputException(e.Message);
        }
    }

    private static void Add(InventoryBuilder builder, string path, TextWriter stderr)
    {
        builder.BeginSource(path);
        if (path == "-")
        {
            using var input = Console.OpenStandardInput();
            TraceInput.ReadJsonLines(input, builder);
            return;
        }
        switch (Kind(path))
        {
            case InputKind.Capture:
                var sink = new InventorySink(builder);
                int code = ReadCommand.Execute(path, new TraceConfig { Quiet = true }, stderr, sink);
                if (code == 2)
                {
                    throw new InputException($"{path}: not a readable capture");
                }
                return;
            case InputKind.Empty:
                throw new InputException($"{path}: the file is empty (expected JSON Lines from tattle run --json, or a pcap/pcapng capture)");
            case InputKind.Other:
                throw new InputException($"{path}: not JSON Lines (tattle run --json FILE) or a pcap/pcapng capture");
        }
        long before = builder.Records;
        long malformedBefore = builder.Malformed;
        using (var stream = Open(path))
        {
            TraceInput.ReadJsonLines(stream, builder);
        }
        if (builder.Records == before && builder.Malformed > malformedBefore)
        {
            throw new InputException($"{path}: no line is a tattle record (expected JSON Lines from tattle run --json FILE; a report's JSON goes to tattle diff)");
        }
    }

    private static FileStream Open(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                throw new InputException($"{path}: is a directory (expected a JSON Lines trace or a capture)");
            }
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"cannot open {path}: {e.Message}");
        }
    }
}
