using System.CommandLine;
using Tattle.Cli.Commands;

namespace Tattle.Cli;

internal static class Program
{
    // Minimal root for the sockets branch; the main branch's Program owns the full command set and will absorb this.
    private static int Main(string[] args)
    {
        var root = new RootCommand("tattle: process-aware network tracer")
        {
            SocketsCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
