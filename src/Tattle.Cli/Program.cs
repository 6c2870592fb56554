using System.CommandLine;
using Tattle.Cli.Commands;
using Tattle.Tracking.Names;

namespace Tattle.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        var stderr = Console.Error;
        if (args.Length > 0 && args[0] is "run" or "sandbox" && !args.Contains("--") && !args.Any(a => a is "-h" or "--help" or "-?" or "--cleanup"))
        {
            stderr.WriteLine($"tattle {args[0]}: put the command after --, e.g. tattle {args[0]} -- curl -s http://127.0.0.1:8000/");
            return 2;
        }
        var root = new RootCommand("tattle: tell me everything your code connects to")
        {
            RunCommand.Create(stderr),
            AttachCommand.Create(stderr),
            SandboxCommand.Create(stderr),
            ReadCommand.Create(stderr),
            SocketsCommand.Create(CachedAddressNames.LoadDefault()),
            TlsCommand.Create(),
        };
        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var error in result.Errors)
            {
                stderr.WriteLine($"tattle: {error.Message}");
            }
            stderr.WriteLine("Try 'tattle --help'.");
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
}
