using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Tattle.Capture.Proc;
using Tattle.Capture.Tls;
using Tattle.Interop;

namespace Tattle.Cli.Commands;

/// <summary>`tattle tls -p PID`: which TLS libraries a process has and the file offsets the plaintext uprobes attach at.</summary>
public static class TlsCommand
{
    /// <summary>Exit code for bad input (not a pid, no such process).</summary>
    public const int BadInput = 2;

    /// <summary>Exit code when a process's mappings could not be read (permissions).</summary>
    public const int NotReadable = 1;

    private const string Name = "tattle tls";

    /// <summary>Builds the command with its options.</summary>
    public static Command Create()
    {
        var pid = new Option<string[]>("--pid", "-p") { Description = "The processes (PID[,PID...]; repeatable)", Required = true };
        var json = new Option<bool>("--json") { Description = "One JSON object per line: tls.library and tls.unreadable records" };
        var command = new Command("tls", "Show the TLS libraries in processes and where plaintext probes attach") { pid, json };
        command.SetAction(parseResult =>
        {
            return Run(parseResult.GetValue(pid) ?? [], parseResult.GetValue(json), StandardStream.Output, StandardStream.ErrorWriter);
        });
        return command;
    }

    /// <summary>Runs the command; separated from parsing so tests can call it with their own streams.</summary>
    internal static int Run(IReadOnlyList<string> pidArgs, bool json, Stream stdout, TextWriter stderr)
    {
        if (!PidList.TryParse(pidArgs, Name, stderr, out var pids))
        {
            return BadInput;
        }
        var scans = new List<(int Pid, string Comm, TlsScan Scan)>();
        int exit = 0;
        foreach (int pid in pids)
        {
            string comm = ProcessInfo.ReadComm(pid) ?? "?";
            var scan = TlsLibraries.ForProcess(pid);
            switch (scan.Status)
            {
                case TlsScanStatus.NoProcess:
                    stderr.WriteLine($"{Name}: no process with pid {pid}");
                    return BadInput;
                case TlsScanStatus.PermissionDenied:
                    // As root this means ptrace restrictions (another user namespace, Yama), where root is no help.
                    string hint = Environment.IsPrivilegedProcess ? "permission denied even as root" : "permission denied; run as root";
                    stderr.WriteLine($"{Name}: cannot read /proc/{pid}/maps ({comm}): {hint}");
                    exit = NotReadable;
                    continue;
            }
            scans.Add((pid, comm, scan));
        }
        using var buffered = new BufferedStream(stdout, 64 * 1024);
        if (json)
        {
            TlsJson.Write(buffered, scans);
        }
        else
        {
            using var writer = new StreamWriter(buffered, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
            TlsTable.Write(writer, scans);
        }
        return exit;
    }

    /// <summary>"write", "read", "write_ex", "read_ex", "set_fd".</summary>
    internal static string RoleName(TlsRole role) => role switch
    {
        TlsRole.Write => "write",
        TlsRole.Read => "read",
        TlsRole.WriteEx => "write_ex",
        TlsRole.ReadEx => "read_ex",
        _ => "set_fd",
    };

    /// <summary>"openssl", "boringssl", "gnutls", "nss", "go".</summary>
    internal static string KindName(TlsLibraryKind kind) => kind.ToString().ToLowerInvariant();

    internal static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}

/// <summary>Per process: a header line, then one aligned row per function, then the objects that could not be read.</summary>
internal static class TlsTable
{
    private static readonly string[] Headers = ["FUNCTION", "ROLE", "OFFSET", "KIND", "VERSION", "LIBRARY"];

    internal static void Write(TextWriter w, IReadOnlyList<(int Pid, string Comm, TlsScan Scan)> scans)
    {
        for (int i = 0; i < scans.Count; i++)
        {
            var (pid, comm, scan) = scans[i];
            if (i > 0)
            {
                w.WriteLine();
            }
            w.WriteLine($"pid {pid} {comm}");
            var rows = new List<string[]> { Headers };
            foreach (var t in scan.Targets)
            {
                string library = t.Path == t.MappedPath ? t.Path : $"{t.Path} ({t.MappedPath} in the process)";
                string version = (t.Version ?? "-") + (t.Go is { } go ? (go.Stripped ? " stripped" : " with symbols") : "");
                foreach (var f in t.Functions)
                {
                    rows.Add([f.Name, TlsCommand.RoleName(f.Role), TlsCommand.Hex(f.FileOffset), TlsCommand.KindName(t.Kind), version, library]);
                    // Go's returns are uprobes on each RET (no uretprobe on Go code): each is a probe of its own.
                    foreach (ulong ret in f.ReturnOffsets ?? [])
                    {
                        rows.Add([f.Name, "ret", TlsCommand.Hex(ret), TlsCommand.KindName(t.Kind), version, library]);
                    }
                }
            }
            if (rows.Count == 1)
            {
                w.WriteLine("  no TLS library found");
            }
            else
            {
                TextTable.WriteAligned(w, rows);
            }
            foreach (var u in scan.Unreadable)
            {
                w.WriteLine(u.Stack is null ? $"  not read: {u.Path} ({u.Reason})" : $"  not readable: {u.Stack} in {u.Path} ({u.Reason})");
            }
        }
    }
}

/// <summary>`--json`: a tls.library record per target (functions inside) and a tls.unreadable record per object not read.</summary>
internal static class TlsJson
{
    internal static void Write(Stream output, IReadOnlyList<(int Pid, string Comm, TlsScan Scan)> scans)
    {
        using var json = new Utf8JsonWriter(output);
        foreach (var (pid, comm, scan) in scans)
        {
            foreach (var t in scan.Targets)
            {
                Start(json, "tls.library", pid, comm);
                json.WriteString("path", t.Path);
                json.WriteString("mapped_path", t.MappedPath);
                json.WriteString("kind", TlsCommand.KindName(t.Kind));
                json.WriteString("version", t.Version);
                json.WriteString("build_id", t.BuildId);
                json.WriteString("device", $"{t.File.DeviceMajor}:{t.File.DeviceMinor}");
                json.WriteNumber("inode", t.File.Inode);
                if (t.Go is { } go)
                {
                    json.WriteBoolean("stripped", go.Stripped);
                }
                json.WriteStartArray("functions");
                foreach (var f in t.Functions)
                {
                    json.WriteStartObject();
                    json.WriteString("name", f.Name);
                    json.WriteString("role", TlsCommand.RoleName(f.Role));
                    json.WriteNumber("offset", f.FileOffset);
                    if (f.ProbeOffset is { } probe)
                    {
                        json.WriteNumber("probe_offset", probe);
                    }
                    json.WriteNumber("address", f.Address);
                    json.WriteBoolean("returns_ssize", f.ReturnsSsize);
                    if (f.ReturnOffsets is { } returns)
                    {
                        json.WriteStartArray("ret_offsets");
                        returns.ToList().ForEach(json.WriteNumberValue);
                        json.WriteEndArray();
                    }
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                TextTable.EndJsonLine(json, output);
            }
            foreach (var u in scan.Unreadable)
            {
                Start(json, "tls.unreadable", pid, comm);
                json.WriteString("path", u.Path);
                json.WriteString("reason", u.Reason);
                if (u.Stack is { } stack)
                {
                    json.WriteString("stack", stack);
                }
                TextTable.EndJsonLine(json, output);
            }
        }
    }

    private static void Start(Utf8JsonWriter json, string record, int pid, string comm)
    {
        json.WriteStartObject();
        json.WriteString("record", record);
        json.WriteNumber("pid", pid);
        json.WriteString("comm", comm);
    }
}
