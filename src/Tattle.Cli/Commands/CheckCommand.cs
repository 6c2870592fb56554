using System.CommandLine;
using Tattle.Cli.Tracing;
using Tattle.Records;
using Tattle.Report;

namespace Tattle.Cli.Commands;

/// <summary>
/// `tattle check --policy FILE -- CMD…` (or `--allow HOST|CIDR[:PORT]`, repeatable, alone or added to the file's
/// entries): the CI gate. Runs CMD traced exactly as `run` does, then judges every
/// endpoint it reached out to against the policy: CMD's exit code when all were allowed, else 3 after printing each
/// violation.
/// </summary>
internal static class CheckCommand
{
    /// <summary>Exit code when the run reached something the policy does not allow.</summary>
    public const int ViolationExitCode = 3;

    public static Command Create(TextWriter stderr)
    {
        var options = new TraceOptions();
        var policy = new Option<string>("--policy")
        {
            Description = "The policy to hold the run to (tattle report --policy-out writes one; format in docs/report.md)",
            HelpName = "FILE",
        };
        var allow = new Option<string[]>("--allow")
        {
            Description = "Allow HOST or CIDR (optionally one port), as an entry of the policy would; repeatable, with or instead of --policy",
            HelpName = "HOST|CIDR[:PORT]",
            AllowMultipleArgumentsPerToken = false,
        };
        var markdown = new Option<string?>("--markdown")
        {
            Description = "Also write the report and the violations as Markdown to FILE (e.g. $GITHUB_STEP_SUMMARY)",
            HelpName = "FILE",
        };
        var user = RunCommand.UserOption();
        var command = new Argument<string[]>("command")
        {
            Description = "The command to launch, trace and check, after --",
            Arity = ArgumentArity.OneOrMore,
        };
        var check = new Command("check", "Run a command traced and exit 3 if it reached anything the policy does not allow; otherwise its exit code")
        {
            policy, allow, markdown, user, command,
        };
        options.AddTo(check);
        RunCommand.RequireAfterDashes(check, command);
        CrossCheck.Add(check, result =>
        {
            if (result.GetValue(policy) is null && result.GetValue(allow) is not { Length: > 0 })
            {
                result.AddError("give the policy to hold the run to: --policy FILE, or --allow HOST|CIDR[:PORT] (repeatable)");
            }
        });
        check.SetAction(result =>
        {
            Sandbox.Policy rules;
            string? file = result.GetValue(policy);
            string[] entries = result.GetValue(allow) ?? [];
            try
            {
                rules = ReportInputs.LoadPolicy(file, entries);
            }
            catch (ReportInputs.InputException e)
            {
                stderr.WriteLine($"tattle check: {e.Message}");
                return 2;
            }
            string judge = (file, entries.Length) switch
            {
                (null, _) => "--allow",
                (_, 0) => file,
                _ => $"{file} and --allow",
            };
            var builder = new InventoryBuilder();
            var target = new RunTarget(result.GetValue(command) ?? [], result.GetValue(user));
            int exit = TraceLoop.Execute(options.Bind(result), target, stderr, new InventorySink(builder));
            var inv = builder.Build();
            if (inv.Records == 0)
            {
                return exit; // tracing never started: tattle's own error, already printed
            }
            var violations = PolicyCheck.Judge(inv, rules);
            if (inv.Lost > 0)
            {
                stderr.WriteLine($"tattle check: warning: the trace lost {inv.Lost} events: an endpoint may have been missed");
            }
            foreach (var v in violations)
            {
                stderr.WriteLine($"tattle check: violation: {v}");
            }
            stderr.WriteLine(violations.Count == 0
                ? $"tattle check: every endpoint reached is allowed by {judge}"
                : $"tattle check: {Plural.Count(violations.Count, "endpoint", "endpoints")} not allowed by {judge}: exit {ViolationExitCode}");
            if (result.GetValue(markdown) is { } md)
            {
                try
                {
                    ReportCommand.WriteFile(md, w => WriteMarkdown(w, inv, violations));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    stderr.WriteLine($"tattle check: cannot write {md}: {e.Message}");
                }
            }
            return violations.Count > 0 ? ViolationExitCode : exit;
        });
        return check;
    }

    private static void WriteMarkdown(TextWriter w, Inventory inv, List<Violation> violations)
    {
        w.WriteLine(violations.Count == 0 ? "## tattle check: passed" : $"## tattle check: {violations.Count} violations");
        w.WriteLine();
        foreach (var v in violations)
        {
            w.WriteLine($"- {InventoryText.Md(v.ToString())}");
        }
        w.WriteLine();
        InventoryText.WriteMarkdown(w, inv);
    }
}
