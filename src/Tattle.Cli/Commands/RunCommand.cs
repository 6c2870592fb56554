using System.CommandLine;
using Tattle.Cli.Tracing;

namespace Tattle.Cli.Commands;

/// <summary>`tattle run [options] -- CMD [ARGS…]`.</summary>
internal static class RunCommand
{
    public static Command Create(TextWriter stderr)
    {
        var options = new TraceOptions();
        var user = new Option<string?>("--user", "-u")
        {
            Description = "Run the command as USER (default: as yourself)",
            HelpName = "USER",
        };
        var command = new Argument<string[]>("command")
        {
            Description = "The command to launch and trace, after --",
            Arity = ArgumentArity.OneOrMore,
        };
        var run = new Command("run", "Launch a command and trace every connection it and its children make; exits with its exit code")
        {
            user,
            command,
        };
        options.AddTo(run);
        run.SetAction(result =>
        {
            var target = new RunTarget(result.GetValue(command) ?? [], result.GetValue(user));
            return TraceLoop.Execute(options.Bind(result), target, stderr);
        });
        return run;
    }
}
