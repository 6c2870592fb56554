using System.CommandLine;
using Tattle.Cli.Tracing;

namespace Tattle.Cli.Commands;

/// <summary>`tattle run [options] -- CMD [ARGS…]`.</summary>
internal static class RunCommand
{
    public static Command Create(TextWriter stderr)
    {
        var options = new TraceOptions();
        var user = UserOption();
        var noFollowOrphans = new Option<bool>("--no-follow-orphans")
        {
            Description = "Stop when the command exits, even if processes it started still run (the summary counts them)",
        };
        var command = new Argument<string[]>("command")
        {
            Description = "The command to launch and trace, after --",
            Arity = ArgumentArity.OneOrMore,
        };
        var run = new Command("run", "Launch a command and trace every connection it and its children make; exits with its exit code")
        {
            user,
            noFollowOrphans,
            command,
        };
        options.AddTo(run);
        RequireAfterDashes(run, command);
        run.SetAction(result =>
        {
            var target = new RunTarget(result.GetValue(command) ?? [], result.GetValue(user),
                followOrphans: !result.GetValue(noFollowOrphans));
            return TraceLoop.Execute(options.Bind(result), target, stderr);
        });
        return run;
    }

    /// <summary>-u USER: for every command that launches one (run, probe, check).</summary>
    internal static Option<string?> UserOption() => new("--user", "-u")
    {
        Description = "Run the command as USER (default: as yourself)",
        HelpName = "USER",
    };

    /// <summary>How many words of tattle's own command line follow its first --: the launched command's.</summary>
    internal static int CountAfterDashes() => Environment.GetCommandLineArgs().SkipWhile(a => a != "--").Skip(1).Count();

    /// <summary>Everything after -- is the command; anything else bound to it stood before -- and was not an option.</summary>
    internal static void RequireAfterDashes(Command verb, Argument<string[]> command) => CrossCheck.Add(verb, result =>
    {
        var tokens = result.GetResult(command)?.Tokens.Select(t => t.Value).ToList() ?? [];
        int afterDashes = CountAfterDashes();
        if (tokens.Count > afterDashes && afterDashes > 0)
        {
            result.AddError($"unknown option or argument '{tokens[0]}' (the command to trace goes after --)");
        }
    });
}
