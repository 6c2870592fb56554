using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Tattle.Capture.Proc;
using Tattle.Interop;
using Tattle.Records;

namespace Tattle.Cli.Commands;

/// <summary>`tattle sockets`: which process holds which socket, from /proc, across network namespaces.</summary>
public static class SocketsCommand
{
    /// <summary>Exit code for bad input (unknown pid, user or namespace).</summary>
    public const int BadInput = 2;

    /// <summary>Builds the command with its options; host names are not resolved.</summary>
    public static Command Create() => Create(NoAddressNames.Instance);

    /// <summary>Builds the command with a source of host names (e.g. a DNS cache); `-n` still turns it off.</summary>
    public static Command Create(IAddressNames hostNames)
    {
        ArgumentNullException.ThrowIfNull(hostNames);
        var pid = new Option<string[]>("--pid", "-p") { Description = "Only these processes (PID[,PID...]); also prints each one's fd table" };
        var comm = new Option<string?>("--comm") { Description = "Only processes with this command name (/proc/PID/comm)" };
        var user = new Option<string?>("--user") { Description = "Only processes of this user (name or uid)" };
        var netns = new Option<string?>("--netns") { Description = "Network namespace: id, name from /run/netns, or 'all' (default: ours, or the -p processes')" };
        var tcp = new Option<bool>("--tcp", "-t") { Description = "TCP sockets" };
        var udp = new Option<bool>("--udp", "-u") { Description = "UDP sockets" };
        var unix = new Option<bool>("--unix", "-x") { Description = "Unix domain sockets" };
        var listening = new Option<bool>("--listening", "-l") { Description = "Only listening sockets (and unconnected UDP)" };
        var json = new Option<bool>("--json") { Description = "One JSON object per line (see docs/sockets.md)" };
        var numeric = new Option<bool>("--numeric", "-n") { Description = "No name resolution (service and host names)" };

        var command = new Command("sockets", "List open sockets with the processes holding them")
        {
            pid, comm, user, netns, tcp, udp, unix, listening, json, numeric,
        };
        command.SetAction(parseResult =>
        {
            var options = new SocketsOptions
            {
                Pids = parseResult.GetValue(pid) ?? [],
                Comm = parseResult.GetValue(comm),
                User = parseResult.GetValue(user),
                NetNs = parseResult.GetValue(netns),
                Tcp = parseResult.GetValue(tcp),
                Udp = parseResult.GetValue(udp),
                Unix = parseResult.GetValue(unix),
                Listening = parseResult.GetValue(listening),
                Json = parseResult.GetValue(json),
                Numeric = parseResult.GetValue(numeric),
            };
            return Run(options, StandardStream.Output, StandardStream.ErrorWriter, hostNames);
        });
        return command;
    }

    /// <summary>Runs the command; separated from parsing so tests can call it with their own streams.</summary>
    internal static int Run(SocketsOptions o, Stream stdout, TextWriter stderr, IAddressNames hostNames)
    {
        if (!TryBuildQuery(o, stderr, out var query, out var pids))
        {
            return BadInput;
        }
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var snapshot = SocketTable.Snapshot(query!);
        var walked = System.Diagnostics.Stopwatch.GetElapsedTime(t0);
        if (query!.NetNs is ulong wanted && snapshot.NamespacesRead == 0)
        {
            stderr.WriteLine($"tattle sockets: no readable process in network namespace {wanted}");
            return BadInput;
        }

        var services = o.Numeric ? null : ServiceNames.Default;
        var names = o.Numeric ? NoAddressNames.Instance : hostNames;
        using (var buffered = new BufferedStream(stdout, 64 * 1024))
        {
            if (o.Json)
            {
                JsonRows.Write(buffered, snapshot.Rows, pids, services, names);
            }
            else
            {
                using var writer = new StreamWriter(buffered, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
                TableRows.Write(writer, snapshot.Rows, pids, services, names);
            }
        }
        if (Environment.GetEnvironmentVariable("TATTLE_TIMING") == "1")
        {
            // For bench/sockets: separates the walk from output formatting and from runtime start-up.
            var total = System.Diagnostics.Stopwatch.GetElapsedTime(t0);
            var sinceStart = DateTime.Now - System.Diagnostics.Process.GetCurrentProcess().StartTime;
            // A second walk shows what a long-running caller (tattle attach) pays once JIT and first-use costs are gone.
            long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            _ = SocketTable.Snapshot(query);
            var warm = System.Diagnostics.Stopwatch.GetElapsedTime(t1);
            stderr.WriteLine(FormattableString.Invariant(
                $"timing: walk {walked.TotalMilliseconds:F1} ms, walk+output {total.TotalMilliseconds:F1} ms, since process start {sinceStart.TotalMilliseconds:F1} ms, warm walk {warm.TotalMilliseconds:F1} ms, {snapshot.Rows.Count} rows, {snapshot.NamespacesRead} netns"));
        }
        if (snapshot.UnreadableProcesses > 0)
        {
            // As root this means ptrace restrictions (e.g. another user namespace or Yama), so "run as root" would be no help.
            string hint = Environment.IsPrivilegedProcess ? "permission denied even as root" : "run as root";
            stderr.WriteLine($"tattle sockets: {Plural.Count(snapshot.UnreadableProcesses, "process", "processes")} not readable; {hint}");
        }
        return 0;
    }

    private static bool TryBuildQuery(SocketsOptions o, TextWriter stderr, out SocketQuery? query, out List<int> pids)
    {
        query = null;
        if (!PidList.TryParse(o.Pids, "tattle sockets", stderr, out pids))
        {
            return false;
        }
        uint? uid = null;
        if (o.User is not null)
        {
            if (!UserNames.Default.TryResolve(o.User, out uint u))
            {
                stderr.WriteLine($"tattle sockets: unknown user '{o.User}'");
                return false;
            }
            uid = u;
        }
        ulong? ns = null;
        bool allNs = false;
        if (o.NetNs is not null)
        {
            if (o.NetNs == "all")
            {
                allNs = true;
            }
            else if (NetNamespaces.Load().TryResolve(o.NetNs, out ulong id))
            {
                ns = id;
            }
            else
            {
                stderr.WriteLine($"tattle sockets: unknown network namespace '{o.NetNs}' (an id, a name in /run/netns, or 'all')");
                return false;
            }
        }
        var kinds = SocketKinds.None;
        kinds |= o.Tcp ? SocketKinds.Tcp : 0;
        kinds |= o.Udp ? SocketKinds.Udp : 0;
        kinds |= o.Unix ? SocketKinds.Unix : 0;
        query = new SocketQuery
        {
            Pids = pids.Count > 0 ? pids : null,
            Comm = o.Comm,
            Uid = uid,
            NetNs = ns,
            AllNamespaces = allNs,
            Kinds = kinds == SocketKinds.None ? SocketKinds.All : kinds,
            ListeningOnly = o.Listening,
        };
        return true;
    }
}

/// <summary>Parsed options of `tattle sockets`.</summary>
internal sealed class SocketsOptions
{
    public IReadOnlyList<string> Pids { get; init; } = [];
    public string? Comm { get; init; }
    public string? User { get; init; }
    public string? NetNs { get; init; }
    public bool Tcp { get; init; }
    public bool Udp { get; init; }
    public bool Unix { get; init; }
    public bool Listening { get; init; }
    public bool Json { get; init; }
    public bool Numeric { get; init; }
}

/// <summary>How addresses and ports are shown, shared by the table and JSON writers.</summary>
internal static class SocketText
{
    internal static string? Service(ServiceNames? services, IPEndPoint? ep, string protocol) =>
        services is null || ep is null ? null : services.Lookup(ep.Port, protocol);

    internal static string Address(IPAddress a, IAddressNames names)
    {
        string? host = names.NameOf(a);
        if (host is not null)
        {
            return host;
        }
        if (a.IsIPv4MappedToIPv6)
        {
            // Show what ss shows for v4-mapped addresses, but keep them recognisable as v6 sockets.
            return "[::ffff:" + a.MapToIPv4().ToString() + "]";
        }
        return a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + a.ToString() + "]" : a.ToString();
    }

    /// <summary>"10.0.0.1:5556(freeciv)", "[::]:22(ssh)", "0.0.0.0:*" for port 0.</summary>
    internal static string EndPoint(IPEndPoint ep, string protocol, ServiceNames? services, IAddressNames names)
    {
        string port = ep.Port == 0 ? "*" : ep.Port.ToString(CultureInfo.InvariantCulture);
        string? service = Service(services, ep, protocol);
        return service is null ? Address(ep.Address, names) + ":" + port : Address(ep.Address, names) + ":" + port + "(" + service + ")";
    }

    // Local addresses are never named: the cache says what a program connected to, and naming 127.0.0.1 after
    // the last name some program resolved to it would mislabel every listener on it.
    internal static string Local(ProcessSocket r, ServiceNames? services) =>
        r.Local is not null ? EndPoint(r.Local, r.Protocol, services, NoAddressNames.Instance)
        : r.Protocol == "unix" ? r.UnixPath ?? "*"
        : r.Socket.Detail ?? "*";

    /// <summary>
    /// The names for each row's remote. A connection a listener accepted (its local port is one the rows show
    /// listening in its namespace) has a client at the other end: the cache says what programs connected to, so it
    /// does not name clients.
    /// </summary>
    internal static Func<ProcessSocket, IAddressNames> RemoteNames(IReadOnlyList<ProcessSocket> rows, IAddressNames names)
    {
        if (names is NoAddressNames)
        {
            return _ => names;
        }
        var listening = rows.Where(r => r.State == "LISTEN" && r.Local is not null).Select(r => (r.NetNs, r.Local!.Port)).ToHashSet();
        return r => r.State != "LISTEN" && r.Local is { } local && listening.Contains((r.NetNs, local.Port)) ? NoAddressNames.Instance : names;
    }

    internal static string Remote(ProcessSocket r, ServiceNames? services, IAddressNames names) =>
        r.Remote is not null ? EndPoint(r.Remote, r.Protocol, services, names)
        : r.Protocol == "unix" ? r.UnixPeerPath ?? (r.UnixPeerInode != 0 ? "[" + r.UnixPeerInode.ToString(CultureInfo.InvariantCulture) + "]" : "*")
        : "*";

    internal static string Protocol(ProcessSocket r) => r.Socket.UnixType is null ? r.Protocol : r.Protocol + "/" + r.Socket.UnixType;

    /// <summary>
    /// SEND-Q as ss shows it: a listening TCP socket's backlog, "-" where it cannot be known (another namespace);
    /// otherwise the bytes not yet sent or acknowledged.
    /// </summary>
    internal static string SendQueue(ProcessSocket r) =>
        r.Backlog is { } backlog ? backlog.ToString(CultureInfo.InvariantCulture)
        : r.State == "LISTEN" && r.Protocol is "tcp" or "tcp6" ? "-"
        : r.TxQueue.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The aligned, grouped-by-process table.</summary>
internal static class TableRows
{
    private static readonly string Spaces = new(' ', 64);
    private static readonly string[] Headers = ["FD", "PROTO", "STATE", "RECV-Q", "SEND-Q", "LOCAL", "REMOTE", "INODE"];

    internal static void Write(TextWriter w, IReadOnlyList<ProcessSocket> rows, IReadOnlyList<int> fdTablePids, ServiceNames? services, IAddressNames names)
    {
        var cells = new string[rows.Count][];
        var remoteNames = SocketText.RemoteNames(rows, names);
        var widths = new int[Headers.Length];
        for (int c = 0; c < Headers.Length; c++)
        {
            widths[c] = Headers[c].Length;
        }
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            var row = new[]
            {
                r.Fds.Count == 0 ? "-" : string.Join(',', r.Fds),
                SocketText.Protocol(r),
                r.State,
                r.RxQueue.ToString(CultureInfo.InvariantCulture),
                SocketText.SendQueue(r),
                TerminalText.Sanitize(SocketText.Local(r, services)),
                TerminalText.Sanitize(SocketText.Remote(r, services, remoteNames(r))),
                r.Inode.ToString(CultureInfo.InvariantCulture),
            };
            for (int c = 0; c < row.Length; c++)
            {
                widths[c] = Math.Max(widths[c], row[c].Length);
            }
            cells[i] = row;
        }

        int? currentPid = null;
        ulong currentNs = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            if (currentPid != r.Pid || (r.Process is null && currentNs != r.NetNs))
            {
                if (currentPid is not null)
                {
                    w.WriteLine();
                }
                currentPid = r.Pid;
                currentNs = r.NetNs;
                w.WriteLine(GroupHeader(r));
                WriteCells(w, Headers, widths);
            }
            WriteCells(w, cells[i], widths);
        }
        if (rows.Count == 0 && fdTablePids.Count == 0)
        {
            w.WriteLine("no sockets matched");
        }

        foreach (int pid in fdTablePids)
        {
            w.WriteLine();
            var fds = FdTable.Read(pid, out int errno);
            string comm = TerminalText.Sanitize(ProcessInfo.ReadComm(pid) ?? "?");
            if (fds is null)
            {
                string why = errno is 13 or 1 ? "permission denied" : errno is 2 or 3 ? "process exited" : "errno " + errno.ToString(CultureInfo.InvariantCulture);
                w.WriteLine($"fd table of {pid} ({comm}): not readable ({why})");
                continue;
            }
            w.WriteLine($"fd table of {pid} ({comm}):");
            int fdWidth = fds.Count == 0 ? 1 : fds[^1].Fd.ToString(CultureInfo.InvariantCulture).Length;
            foreach (var fd in fds)
            {
                w.WriteLine($"  {fd.Fd.ToString(CultureInfo.InvariantCulture).PadLeft(fdWidth)} -> {TerminalText.Sanitize(fd.Target)}");
            }
        }
    }

    private static string GroupHeader(ProcessSocket r)
    {
        var sb = new StringBuilder(128);
        if (r.Process is null)
        {
            sb.Append("(no process)");
        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"pid {r.Pid} {TerminalText.Sanitize(r.Comm)}  user {TerminalText.Sanitize(r.User)}");
        }
        sb.Append(CultureInfo.InvariantCulture, $"  netns {r.NetNs}");
        if (r.NetNsName is not null)
        {
            sb.Append(" (").Append(TerminalText.Sanitize(r.NetNsName)).Append(')');
        }
        if (r.ContainerId is not null)
        {
            sb.Append("  container ").Append(r.ContainerId.AsSpan(0, Math.Min(12, r.ContainerId.Length)));
        }
        return sb.ToString();
    }

    private static void WriteCells(TextWriter w, string[] cells, int[] widths)
    {
        w.Write("  ");
        for (int c = 0; c < cells.Length; c++)
        {
            bool last = c == cells.Length - 1;
            int pad = widths[c] - cells[c].Length;
            // Queue sizes right-aligned, text left-aligned; no trailing blanks.
            if (c is 3 or 4)
            {
                Pad(w, pad);
                w.Write(cells[c]);
            }
            else
            {
                w.Write(cells[c]);
                if (!last)
                {
                    Pad(w, pad);
                }
            }
            if (!last)
            {
                w.Write("  ");
            }
        }
        w.WriteLine();
    }

    private static void Pad(TextWriter w, int n)
    {
        while (n > 0)
        {
            int k = Math.Min(n, Spaces.Length);
            w.Write(Spaces.AsSpan(0, k));
            n -= k;
        }
    }
}

/// <summary>`--json`: one object per line; every field always present (null when not applicable).</summary>
internal static class JsonRows
{
    internal static void Write(Stream output, IReadOnlyList<ProcessSocket> rows, IReadOnlyList<int> fdTablePids, ServiceNames? services, IAddressNames names)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false, SkipValidation = false });
        var remoteNames = SocketText.RemoteNames(rows, names);
        foreach (var r in rows)
        {
            json.WriteStartObject();
            json.WriteString("record", "socket");
            WriteNullableInt(json, "pid", r.Process is null ? null : r.Pid);
            json.WriteString("comm", r.Comm);
            json.WriteString("user", r.User);
            WriteNullableInt(json, "uid", r.Process is null ? null : r.Process.Uid);
            WriteNullableInt(json, "fd", r.Fds.Count == 0 ? null : r.Fd);
            json.WriteStartArray("fds");
            foreach (int fd in r.Fds)
            {
                json.WriteNumberValue(fd);
            }
            json.WriteEndArray();
            json.WriteString("protocol", r.Protocol);
            json.WriteString("unix_type", r.Socket.UnixType);
            json.WriteString("state", r.State);
            WriteEndPoint(json, "local", r.Local, r.Protocol, services, NoAddressNames.Instance); // see SocketText.Local
            WriteEndPoint(json, "remote", r.Remote, r.Protocol, services, remoteNames(r));
            json.WriteString("unix_path", r.UnixPath);
            json.WriteString("unix_peer_path", r.UnixPeerPath);
            WriteNullableInt(json, "unix_peer_inode", r.UnixPeerInode == 0 ? null : (long)r.UnixPeerInode);
            json.WriteNumber("rx_queue", r.RxQueue);
            json.WriteNumber("tx_queue", r.TxQueue);
            WriteNullableInt(json, "backlog", r.Backlog);
            json.WriteNumber("inode", r.Inode);
            WriteNullableInt(json, "netns", r.NetNs == 0 ? null : (long)r.NetNs);
            json.WriteString("netns_name", r.NetNsName);
            json.WriteString("container_id", r.ContainerId);
            json.WriteString("detail", r.Socket.Detail);
            json.WriteEndObject();
            EndLine(json, output);
        }
        foreach (int pid in fdTablePids)
        {
            var fds = FdTable.Read(pid, out _);
            if (fds is null)
            {
                continue;
            }
            foreach (var fd in fds)
            {
                json.WriteStartObject();
                json.WriteString("record", "fd");
                json.WriteNumber("pid", pid);
                json.WriteNumber("fd", fd.Fd);
                json.WriteString("target", fd.Target);
                WriteNullableInt(json, "inode", fd.SocketInode == 0 ? null : (long)fd.SocketInode);
                json.WriteEndObject();
                EndLine(json, output);
            }
        }
    }

    private static void EndLine(Utf8JsonWriter json, Stream output)
    {
        json.Flush();
        output.WriteByte((byte)'\n');
        json.Reset();
    }

    private static void WriteNullableInt(Utf8JsonWriter json, string name, long? value)
    {
        if (value is long v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void WriteEndPoint(Utf8JsonWriter json, string prefix, IPEndPoint? ep, string protocol, ServiceNames? services, IAddressNames names)
    {
        json.WriteString(prefix + "_address", ep?.Address.ToString());
        WriteNullableInt(json, prefix + "_port", ep?.Port);
        json.WriteString(prefix + "_service", SocketText.Service(services, ep, protocol));
        json.WriteString(prefix + "_host", ep is null ? null : names.NameOf(ep.Address));
    }
}
