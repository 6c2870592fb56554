using System.CommandLine;
using System.CommandLine.Parsing;

namespace Tattle.Cli.Commands;

/// <summary>Validators of a whole command: checks that read several options' values at once.</summary>
internal static class CrossCheck
{
    /// <summary>
    /// Adds <paramref name="check"/> to <paramref name="command"/>. An option whose value did not parse (a
    /// missing argument: `--pid=`) makes GetValue throw; its own error is already reported, so the cross checks,
    /// which cannot judge a value that is not there, are skipped rather than turned into a stack trace.
    /// </summary>
    public static void Add(Command command, Action<CommandResult> check) => command.Validators.Add(result =>
    {
        try
        {
            check(result);
        }
        catch (InvalidOperationException)
        {
            // GetValue throws this only for a value that failed to convert, which has its error line already.
        }
    });
}
