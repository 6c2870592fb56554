using System.CommandLine;
using Tattle.Capture.Bpf;
using Tattle.Cli.Tracing;
using Tattle.Protocols;
using Tattle.Tracking.Streams;
using ParserOptions = Tattle.Protocols.Common.ParserOptions;

namespace Tattle.Cli.Commands;

/// <summary>The options every tracing command takes (run, attach, sandbox).</summary>
internal sealed class TraceOptions
{
    public Option<string?> Json { get; } = new("--json")
    {
        Description = "Write JSON Lines records to FILE (- for standard output)",
        HelpName = "FILE",
    };

    public Option<bool> Stats { get; } = new("--stats")
    {
        Description = "Count instead of recording, for long runs on busy servers: no record per request; the summary gains a table per operation and route (GET /users/{id}) with status classes, bytes and p50/p90/p99/max latency",
    };

    public Option<bool> Data { get; } = new("--data")
    {
        Description = "Add data records with payloads (base64) to the JSON output and the live view, and short previews to parsed messages",
    };

    public Option<int> Snaplen { get; } = NumberOption.Create("--snaplen", "an integer from 0 to 1048576 (bytes)", 0, 1 << 20,
        description: "Payload bytes captured per message; what is cut is counted and marked",
        helpName: "BYTES",
        defaultValue: TracerOptions.DefaultSnaplen);

    public Option<string?> Output { get; } = new("--output", "-o")
    {
        Description = "Write the live view and summary to FILE instead of standard error",
        HelpName = "FILE",
    };

    public Option<bool> Quiet { get; } = new("--quiet", "-q")
    {
        Description = "No live view: only the summary",
    };

    public Option<bool> Verbose { get; } = new("--verbose")
    {
        Description = "Print libbpf's messages (and the verifier log on a load failure)",
    };

    public Option<int> RingSize { get; } = NumberOption.Create("--ring-size", "a power of two from 1 to 1024 (MiB)", 1, 1024,
        accept: r => (r & (r - 1)) == 0,
        description: "Kernel ring buffer size in MiB (a power of two)",
        helpName: "MIB",
        defaultValue: TracerOptions.DefaultRingMiB);

    public Option<string[]> Proto { get; } = new("--proto")
    {
        Description = "Parse connections on PORT (local or remote) as NAME ("
            + string.Join(", ", Tattle.Protocols.ProtocolCatalog.Default.Protocols.Select(p => p.Name)) + ") instead of detecting it; repeatable",
        HelpName = "PORT=NAME",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<int> BodyLimit { get; } = NumberOption.Create("--body-limit", "an integer from 0 to 16777216 (bytes)", 0, 16 << 20,
        description: "Body bytes kept per HTTP message in http records (default 0: sizes only)",
        helpName: "BYTES");

    public Option<bool> NoRedact { get; } = new("--no-redact")
    {
        Description = "Show Authorization, Cookie, tokens, passwords and URL credentials instead of REDACTED",
    };

    public Option<bool> NoParse { get; } = new("--no-parse")
    {
        Description = "Do not reassemble or parse payloads into protocol messages",
    };

    public Option<int> StreamBuffer { get; } = NumberOption.Create("--stream-buffer", "an integer from 4096 to 268435456 (bytes)", 4096, 256 << 20,
        description: "Unparsed bytes kept per connection and direction; past it they are dropped as a gap",
        helpName: "BYTES",
        defaultValue: StreamSettings.DefaultCapBytes);

    public Option<bool> CopyBodies { get; } = new("--copy-bodies")
    {
        Description = "Copy every body byte into tattle (up to --snaplen per call); by default the kernel only counts the rest of an HTTP/1 body of known length once the parser reads it",
    };

    public Option<bool> NoPayload { get; } = new("--no-payload")
    {
        Description = "TCP payloads are counted in the kernel, not copied: connections and bytes only, no TCP parsing (the lightest trace, e.g. with -w)",
    };

    public Option<bool> NoTls { get; } = new("--no-tls")
    {
        Description = "Do not read TLS plaintext: no uprobes on the processes' TLS libraries (OpenSSL, GnuTLS)",
    };

    public Option<string?> Write { get; } = new("--write", "-w")
    {
        Description = "Capture the traced processes' packets into FILE (pcapng; each packet tagged with its process)",
        HelpName = "FILE",
    };

    public Option<string> Interface { get; } = new("--interface", "-i")
    {
        Description = "Interface to capture on with -w (default: any, loopback included)",
        DefaultValueFactory = _ => "any",
        HelpName = "NAME",
    };

    public Option<string?> Filter { get; } = new("--filter")
    {
        Description = "An extra capture filter in tcpdump syntax for -w, e.g. 'tcp port 443'",
        HelpName = "EXPR",
    };

    public Option<bool> AllPackets { get; } = new("--all-packets")
    {
        Description = "With -w, also write packets no traced process sent or received (untagged)",
    };

    public Option<bool> PacketsOnly { get; } = new("--packets-only")
    {
        Description = "With -w, the lightest capture: no syscall tracing; TCP connections are learnt from their state changes (no payload parsing, no UDP or unix sockets)",
    };

    public Option<bool> NoSyscalls { get; } = new("--no-syscalls")
    {
        Description = "Trace without syscall tracepoints, for busy servers: payloads from the socket layer's send and receive tracepoints (Linux 6.3+), connections from their first payload and TCP state changes; no connect/bind/close calls of their own, sendmmsg/recvmmsg payloads counted but not read",
    };

    /// <summary>--raw-syscalls' help, shared with the agent's option of the same name.</summary>
    internal const string RawSyscallsDescription = "Trace through programs on every syscall (raw sys_enter/sys_exit), the default before Linux 6.3. From 6.3, payloads "
        + "come from the socket layer and only socket, connect, accept, bind, listen, shutdown, close, sendmmsg/recvmmsg and a datagram's recvfrom/recvmsg "
        + "run programs, on their own syscall tracepoints: other calls cost nothing";

    public Option<bool> RawSyscalls { get; } = new("--raw-syscalls") { Description = RawSyscallsDescription };

    public Option<bool> StatsInKernel { get; } = new("--stats-in-kernel")
    {
        Description = "--stats with HTTP/1 counted by the kernel programs, for the busiest servers: no payload of an HTTP/1 TCP connection leaves the kernel. "
            + "Each request is a read or write that begins with a method, and its response the next one back that begins with a status line: "
            + "requests pipelined into one read count as one, paths past ~80 bytes are cut (…), what follows a 101 upgrade is counted as bytes; other protocols and TLS are parsed as with --stats",
    };

    /// <summary>--http-in-kernel's help, shared with the agent's option of the same name.</summary>
    internal const string HttpInKernelDescription = "HTTP/1 read by the kernel programs, for busy servers: one http record per request with its method, path, Host, status, latency and bytes, "
        + "from the first 96 bytes of its head (no header fields, no bodies); no payload of an HTTP/1 TCP connection leaves the kernel. "
        + "The latency runs to the response's first byte; requests pipelined into one read make one record; other protocols and TLS are parsed as usual";

    public Option<bool> HttpInKernel { get; } = new("--http-in-kernel") { Description = HttpInKernelDescription };

    public Option<bool> TlsPlaintext { get; } = new("--tls-plaintext")
    {
        Description = "With -w, also write the TLS plaintext the probes read, as TCP packets of a second, synthetic interface (Wireshark shows the HTTP inside)",
    };

    public Option<string> BpfVariant { get; } = new("--bpf-variant")
    {
        Description = "Which build of the kernel programs to load: auto (the best this kernel allows), fast (6.2+) or fallback (5.8+); `tattle doctor` says which and why. Default: $"
            + VariantChoice.EnvironmentVariable + " or auto",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(VariantChoice.EnvironmentVariable) ?? "auto",
        HelpName = "auto|fast|fallback",
    };

    /// <summary>--port, --host, --app: run, attach and sandbox.</summary>
    public RecordFilterOptions Filters { get; } = new();

    public Option<string> Time { get; } = new Option<string>("--time")
    {
        Description = "Times in the live view: rel (seconds since the start) or abs (time of day, 20:15:03.123456)",
        DefaultValueFactory = _ => "rel",
        HelpName = "rel|abs",
    }.AcceptOnlyFromAmong("rel", "abs");

    public Option<int> LiveRate { get; } = NumberOption.Create("--live-rate", "an integer from 0 to 1000000 (lines per second)", 0, 1_000_000,
        description: "Exchange, data, connection and call lines the live view shows per second on average (bursts of 5 s worth show whole); past it they are folded into a count once a second. 0 shows every line. Default: "
            + LiveViewConfig.DefaultLinesPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture) + ", and 0 for tattle read",
        helpName: "LINES",
        defaultValue: LiveViewConfig.DefaultLinesPerSecond);

    public Option<bool> NoProcessLines { get; } = new("--no-process-lines")
    {
        Description = "Leave process start, exec and exit lines out of the live view",
    };

    /// <summary>Adds every option: run and attach.</summary>
    public void AddTo(Command command)
    {
        AddCaptureTo(command);
        AddParsingTo(command);
        AddOutputTo(command);
        AddKernelTo(command);
        Filters.AddTo(command);
    }

    /// <summary>
    /// -w and its companions; without <paramref name="choosesInterface"/> (the sandbox, which captures everything on
    /// its own veth) no -i and no --all-packets.
    /// </summary>
    public void AddCaptureTo(Command command, bool choosesInterface = true)
    {
        command.Add(Write);
        command.Add(Filter);
        command.Add(TlsPlaintext);
        command.Add(PacketsOnly);
        if (choosesInterface)
        {
            command.Add(Interface);
            command.Add(AllPackets);
        }
        CrossCheck.Add(command, result =>
        {
            if (result.GetValue(PacketsOnly) && result.GetValue(Write) is null)
            {
                result.AddError("--packets-only is a way of capturing packets: it needs -w FILE");
            }
            if (!result.GetValue(TlsPlaintext))
            {
                return;
            }
            // One error, the first that applies: each alone is enough to make the option meaningless.
            if (result.GetValue(Write) is null)
            {
                result.AddError("--tls-plaintext writes into the capture file: it needs -w FILE");
            }
            else if (result.GetValue(NoTls) || result.GetValue(NoPayload) || result.GetValue(PacketsOnly))
            {
                string off = result.GetValue(NoTls) ? "--no-tls" : result.GetValue(NoPayload) ? "--no-payload" : "--packets-only";
                result.AddError($"--tls-plaintext needs the TLS probes, which {off} turns off");
            }
        });
    }

    /// <summary>How payloads become messages: also for `tattle read`.</summary>
    public void AddParsingTo(Command command)
    {
        command.Add(Proto);
        command.Add(BodyLimit);
        command.Add(NoRedact);
        command.Add(NoParse);
        command.Add(StreamBuffer);
        Proto.Validators.Add(result =>
        {
            foreach (var spec in result.GetValueOrDefault<string[]>() ?? [])
            {
                if (ParsePortProtocol(spec, out _, out _) is { } error)
                {
                    result.AddError(error);
                }
            }
        });
    }

    /// <summary>Where records go: also for `tattle read`.</summary>
    public void AddOutputTo(Command command)
    {
        command.Add(Json);
        command.Add(Data);
        command.Add(Stats);
        CrossCheck.Add(command, result =>
        {
            if (result.GetValue(Stats) && result.GetValue(Data))
            {
                result.AddError("--stats writes no record per request, so no --data either: choose one");
            }
        });
        command.Add(Output);
        command.Add(Quiet);
        command.Add(Time);
        command.Add(NoProcessLines);
        command.Add(LiveRate);
    }

    /// <summary>The BPF side's settings.</summary>
    public void AddKernelTo(Command command)
    {
        command.Add(Snaplen);
        command.Add(CopyBodies);
        command.Add(NoPayload);
        command.Add(NoTls);
        command.Add(NoSyscalls);
        command.Add(RawSyscalls);
        command.Add(StatsInKernel);
        command.Add(HttpInKernel);
        CrossCheck.Add(command, result =>
        {
            foreach (var inKernel in (Option<bool>[])[StatsInKernel, HttpInKernel])
            {
                if (result.GetValue(inKernel) && (result.GetValue(Data) || result.GetValue(NoPayload)
                    || (command.Options.Contains(PacketsOnly) && result.GetValue(PacketsOnly))))
                {
                    result.AddError($"{inKernel.Name} reads requests from their payloads and writes none: not with --data, --no-payload or --packets-only");
                }
            }
            if (result.GetValue(NoSyscalls) && command.Options.Contains(PacketsOnly) && result.GetValue(PacketsOnly))
            {
                result.AddError("--no-syscalls and --packets-only are two ways of tracing without syscalls: choose one");
            }
            if (result.GetValue(RawSyscalls) && (result.GetValue(NoSyscalls) || (command.Options.Contains(PacketsOnly) && result.GetValue(PacketsOnly))))
            {
                result.AddError("--raw-syscalls traces every syscall, --no-syscalls and --packets-only none: choose one");
            }
        });
        command.Add(Verbose);
        command.Add(RingSize);
        command.Add(BpfVariant);
        BpfVariant.Validators.Add(result =>
        {
            if (!VariantChoice.TryParse(result.GetValueOrDefault<string>(), out _))
            {
                result.AddError($"--bpf-variant (or ${VariantChoice.EnvironmentVariable}) must be auto, fast or fallback, not '{result.GetValueOrDefault<string>()}'");
            }
        });
    }

    public TraceConfig Bind(ParseResult result) => new()
    {
        JsonPath = result.GetValue(Json),
        Filter = Filters.Bind(result),
        Data = result.GetValue(Data),
        Snaplen = result.GetValue(Snaplen),
        OutputPath = result.GetValue(Output),
        Quiet = result.GetValue(Quiet),
        View = new LiveViewConfig
        {
            AbsoluteTime = result.GetValue(Time) == "abs",
            ProcessLines = !result.GetValue(NoProcessLines),
            // Reading a file is tcpdump -r: every line unless asked; a live trace keeps up with a saturated server.
            MaxLinesPerSecond = result.CommandResult.Command.Name == "read" && result.GetResult(LiveRate) is null or { Implicit: true }
                ? 0 : result.GetValue(LiveRate),
        },
        Verbose = result.GetValue(Verbose),
        RingBufferBytes = result.GetValue(RingSize) << 20,
        BpfVariant = VariantChoice.TryParse(result.GetValue(BpfVariant), out var variant) ? variant : BpfVariantRequest.Auto,
        NoPayload = result.GetValue(NoPayload) || result.GetValue(PacketsOnly),
        CopyBodies = result.GetValue(CopyBodies),
        PacketsOnly = result.GetValue(PacketsOnly),
        NoSyscalls = result.GetValue(NoSyscalls),
        RawSyscalls = result.GetValue(RawSyscalls),
        Stats = result.GetValue(Stats) || result.GetValue(StatsInKernel),
        HttpInKernel = result.GetValue(StatsInKernel) || result.GetValue(HttpInKernel),
        Tls = !result.GetValue(NoTls) && !result.GetValue(NoPayload) && !result.GetValue(PacketsOnly),
        Packets = result.GetValue(Write) is { } pcap ? new PacketCaptureConfig
        {
            Path = pcap,
            Interface = result.GetValue(Interface) ?? "any",
            Filter = result.GetValue(Filter),
            AllPackets = result.GetValue(AllPackets),
            Snaplen = PacketCaptureConfig.DefaultSnaplen,
            TlsPlaintext = result.GetValue(TlsPlaintext),
        } : null,
        Streams = new StreamSettings
        {
            Enabled = !result.GetValue(NoParse),
            CapBytes = result.GetValue(StreamBuffer),
            Parser = new ParserOptions
            {
                BodyLimit = result.GetValue(BodyLimit),
                Redact = !result.GetValue(NoRedact),
                Previews = result.GetValue(Data),
                Headers = !result.GetValue(Stats),
            },
            PortProtocols = (result.GetValue(Proto) ?? []).Select(spec =>
            {
                ParsePortProtocol(spec, out int port, out string name);
                return (port, name);
            }).GroupBy(p => p.port).ToDictionary(g => g.Key, g => g.Last().name),
        },
    };

    /// <summary>Parses PORT=NAME; returns an error message, or null when it is valid.</summary>
    internal static string? ParsePortProtocol(string spec, out int port, out string name)
    {
        port = 0;
        name = "";
        int eq = spec.IndexOf('=');
        if (eq <= 0 || !int.TryParse(spec.AsSpan(0, eq), out port) || port is < 1 or > 65535)
        {
            return $"--proto expects PORT=NAME with a port from 1 to 65535, got '{spec}'";
        }
        name = spec[(eq + 1)..].Trim().ToLowerInvariant();
        if (ProtocolCatalog.Default.Find(name) is null)
        {
            var known = string.Join(", ", ProtocolCatalog.Default.Protocols.Select(p => p.Name));
            return $"--proto: unknown protocol '{name}' (known: {known})";
        }
        return null;
    }
}
