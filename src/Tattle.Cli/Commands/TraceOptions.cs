using System.CommandLine;
using Tattle.Capture.Bpf;
using Tattle.Cli.Tracing;

namespace Tattle.Cli.Commands;

/// <summary>The options every tracing command takes (run, attach).</summary>
internal sealed class TraceOptions
{
    public Option<string?> Json { get; } = new("--json")
    {
        Description = "Write JSON Lines records to FILE (- for standard output)",
        HelpName = "FILE",
    };

    public Option<bool> Data { get; } = new("--data")
    {
        Description = "Add data records with payloads (base64) to the JSON output and the live view",
    };

    public Option<int> Snaplen { get; } = new("--snaplen")
    {
        Description = "Payload bytes captured per message; what is cut is counted and marked",
        DefaultValueFactory = _ => TracerOptions.DefaultSnaplen,
        HelpName = "BYTES",
    };

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

    public Option<int> RingSize { get; } = new("--ring-size")
    {
        Description = "Kernel ring buffer size in MiB (a power of two)",
        DefaultValueFactory = _ => 32,
        HelpName = "MIB",
    };

    public void AddTo(Command command)
    {
        command.Add(Json);
        command.Add(Data);
        command.Add(Snaplen);
        command.Add(Output);
        command.Add(Quiet);
        command.Add(Verbose);
        command.Add(RingSize);
        // Option validators run only when the option is given, so defaults need no check.
        Snaplen.Validators.Add(result =>
        {
            int snap = result.GetValueOrDefault<int>();
            if (snap < 0 || snap > 1 << 20)
            {
                result.AddError("--snaplen must be between 0 and 1048576");
            }
        });
        RingSize.Validators.Add(result =>
        {
            int ring = result.GetValueOrDefault<int>();
            if (ring < 1 || ring > 1024 || (ring & (ring - 1)) != 0)
            {
                result.AddError("--ring-size must be a power of two between 1 and 1024 (MiB)");
            }
        });
    }

    public TraceConfig Bind(ParseResult result) => new()
    {
        JsonPath = result.GetValue(Json),
        Data = result.GetValue(Data),
        Snaplen = result.GetValue(Snaplen),
        OutputPath = result.GetValue(Output),
        Quiet = result.GetValue(Quiet),
        Verbose = result.GetValue(Verbose),
        RingBufferBytes = result.GetValue(RingSize) << 20,
    };
}
