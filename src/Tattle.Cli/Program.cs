using System.CommandLine;
using Tattle.Cli.Commands;
using Tattle.Interop;
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
        var stderr = Console.Error;
        if (args.Length > 0 && args[0] is "run" or "sandbox" && !args.Contains("--") && !args.Any(a => a is "-h" or "--help" or "-?" or "--cleanup"))
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
            return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("TATTLE_DEBUG") is null)
        {
            // Outputs were flushed and BPF links released by the using blocks on the way here.
            stderr.WriteLine($"tattle: internal error: {e.GetType().Name}: {e.Message} (TATTLE_DEBUG=1 shows the stack)");
            return 70;
        }
    }

    // Messages quote the value given: a control character in it must neither break the one line nor reach the terminal.
    private static string Printable(string message)
    {
        if (!message.Any(c => char.IsControl(c)))
        {
            return message;
        }
        var sb = new System.Text.StringBuilder(message.Length + 16);
        foreach (char c in message)
        {
            sb.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c);
        }
        return sb.ToString();
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
            SocketsCommand.Create(CachedAddressNames.LoadDefault()),
            TlsCommand.Create(),
        };
        // No response files: "@name" is a file name like any other (--json @out.jsonl), not options to read from it.
        var result = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.Errors.Count == 0)
        {
            return result;
        }
        foreach (var error in result.Errors)
        {
            stderr.WriteLine($"tattle: {Printable(error.Message)}");
        }
        stderr.WriteLine("Try 'tattle --help'.");
        return null;
    }
}
