using System.CommandLine;
using System.CommandLine.Help;
using Tattle.Cli.Commands;
using Tattle.Interop;
using Tattle.Records;
using Tattle.Tracking.Names;

namespace Tattle.Cli;

internal static class Program
{
    private const int SigHup = 1;
    private const int SigInt = 2;
    private const int SigTerm = 15;

    private static int Main(string[] args)
    {
        // Before the runtime sets up its signal handling: it leaves an inherited SIG_IGN in place and never calls
        // the PosixSignalRegistration handlers for it, so `kill -INT` of a job started by a script did nothing.
        foreach (int signal in (int[])[SigHup, SigInt, SigTerm])
        {
            Libc.UnignoreSignal(signal);
        }
        var stderr = StandardStream.ErrorWriter;
        if (args.Length > 0 && args[0] is "run" or "sandbox" or "check" && !args.Contains("--") && !args.Any(a => a is "-h" or "--help" or "-?" or "--cleanup"))
        {
            stderr.WriteLine($"tattle {args[0]}: put the command after --, e.g. tattle {args[0]} -- curl -s http://127.0.0.1:8000/");
            return 2;
        }
        if (Parse(args, stderr) is not { } result)
        {
            return 2;
        }
        try
        {
            // Help and --version through plain writes too: System.Console would put the terminal in keypad mode.
            var output = new StreamWriter(StandardStream.Output) { AutoFlush = true };
            return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = output, Error = stderr });
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("TATTLE_DEBUG") is null)
        {
            // Outputs were flushed and BPF links released by the using blocks on the way here.
            stderr.WriteLine($"tattle: internal error: {e.GetType().Name}: {e.Message} (TATTLE_DEBUG=1 shows the stack)");
            return 70;
        }
    }

    /// <summary>Parses the command line; on bad input writes one line per problem and returns null (exit 2).</summary>
    internal static ParseResult? Parse(string[] args, TextWriter stderr)
    {
        var root = new RootCommand("tattle: tell me everything your code connects to")
        {
            RunCommand.Create(stderr),
            AttachCommand.Create(stderr),
            SandboxCommand.Create(stderr),
            ReadCommand.Create(stderr),
            ReportCommand.Create(stderr),
            CheckCommand.Create(stderr),
            DiffCommand.Create(stderr),
            SocketsCommand.Create(CachedAddressNames.LoadDefault()),
            TlsCommand.Create(),
            LibsCommand.Create(),
            ProbeCommand.Create(stderr),
            AgentCommand.Create(stderr),
            DoctorCommand.Create(),
        };
        // Help is fitted to the terminal without asking System.Console, which would put it in keypad mode.
        if (root.Options.OfType<HelpOption>().FirstOrDefault() is { Action: HelpAction help })
        {
            help.MaxWidth = TerminalSize.Columns(1) ?? int.MaxValue;
        }
        // No response files: "@name" is a file name like any other (--json @out.jsonl), not options to read from it.
        var result = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.Errors.Count == 0)
        {
            return result;
        }
        foreach (var error in result.Errors)
        {
            // Messages quote the value given: a control character in it must neither break the line nor reach the terminal.
            stderr.WriteLine($"tattle: {TerminalText.Sanitize(error.Message)}");
        }
        stderr.WriteLine("Try 'tattle --help'.");
        return null;
    }
}
