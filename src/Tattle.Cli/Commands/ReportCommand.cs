using System.CommandLine;
using Tattle.Interop;
using Tattle.Report;

namespace Tattle.Cli.Commands;

/// <summary>
/// `tattle report FILE…`: the dependency inventory of traces, as a table, JSON, Markdown or an HTML page; the
/// policy the run needs (--policy-out); firewall rules from the traces or from a policy file (--format nft|iptables|k8s).
/// </summary>
internal static class ReportCommand
{
    private static readonly string[] Formats = ["table", "json", "markdown", "nft", "iptables", "k8s"];

    public static Command Create(TextWriter stderr)
    {
        var files = new Argument<string[]>("file")
        {
            Description = "JSON Lines traces (tattle run --json FILE; - for standard input) or pcap/pcapng captures; with --format nft|iptables|k8s, also a policy file",
            Arity = ArgumentArity.OneOrMore,
        };
        var format = new Option<string>("--format")
        {
            Description = "table (default), json, markdown, or firewall rules: nft, iptables (iptables-restore input), k8s (NetworkPolicy and CiliumNetworkPolicy)",
            HelpName = "FORMAT",
            DefaultValueFactory = _ => "table",
        }.AcceptOnlyFromAmong(Formats);
        var json = new Option<bool>("--json") { Description = "The report as one JSON object (the same as --format json)" };
        var markdown = new Option<bool>("--markdown") { Description = "The report as Markdown, e.g. >> $GITHUB_STEP_SUMMARY (the same as --format markdown)" };
        var html = new Option<string?>("--html") { Description = "Also write a self-contained HTML page with the dependency map to FILE", HelpName = "FILE" };
        var policyOut = new Option<string?>("--policy-out") { Description = "Also write the policy the traced run needs to FILE (for tattle check --policy)", HelpName = "FILE" };
        var output = new Option<string?>("--output", "-o") { Description = "Write the report to FILE instead of standard output", HelpName = "FILE" };
        var report = new Command("report", "The dependency inventory of traces: per program, user and container, every endpoint with its names, protocols, counts and latency")
        {
            files, format, json, markdown, html, policyOut, output,
        };
        CrossCheck.Add(report, result =>
        {
            if (result.GetValue(json) && result.GetValue(markdown))
            {
                result.AddError("--json and --markdown are two formats: give one");
            }
            if ((result.GetValue(json) || result.GetValue(markdown)) && result.GetResult(format) is { Implicit: false })
            {
                result.AddError("--format and --json/--markdown both choose the format: give one");
            }
        });
        report.SetAction(result =>
        {
            string chosen = result.GetValue(json) ? "json" : result.GetValue(markdown) ? "markdown" : result.GetValue(format) ?? "table";
            return Execute(result.GetValue(files) ?? [], chosen, result.GetValue(html), result.GetValue(policyOut), result.GetValue(output), stderr);
        });
        return report;
    }

    private static int Execute(IReadOnlyList<string> files, string format, string? htmlPath, string? policyOut, string? outputPath, TextWriter stderr)
    {
        try
        {
            if (format is "nft" or "iptables" or "k8s" && files.Count == 1 && files[0] != "-" && ReportInputs.Kind(files[0]) == InputKind.Other)
            {
                if (htmlPath is not null || policyOut is not null)
                {
                    throw new ReportInputs.InputException($"{files[0]} is a policy: --html and --policy-out need a trace");
                }
                var policy = ReportInputs.LoadPolicy(files[0]);
                var fromPolicy = new FirewallRules(policy, FirewallRules.FromResolver(w => stderr.WriteLine($"tattle report: warning: {w}")), Resolvers.FromResolvConf());
                return WriteRules(fromPolicy, format, outputPath, stderr);
            }
            var inv = ReportInputs.Load(files, stderr);
            if (policyOut is not null)
            {
                WriteFile(policyOut, w => w.Write(PolicyCheck.WritePolicy(inv)));
                stderr.WriteLine($"tattle report: wrote {policyOut}: check a later run with tattle check --policy {policyOut} -- CMD");
            }
            if (htmlPath is not null)
            {
                WriteFile(htmlPath, w => w.Write(InventoryHtml.Render(inv)));
                stderr.WriteLine($"tattle report: wrote {htmlPath}: open it with xdg-open {htmlPath}");
            }
            if (format is "nft" or "iptables" or "k8s")
            {
                var policy = Sandbox.PolicyFile.ParsePolicy(PolicyCheck.WritePolicy(inv), "(from the trace)");
                return WriteRules(new FirewallRules(policy, FirewallRules.FromInventory(inv), Resolvers.FromResolvConf()), format, outputPath, stderr);
            }
            WriteOutput(outputPath, format, inv);
            return 0;
        }
        catch (ReportInputs.InputException e)
        {
            stderr.WriteLine($"tattle report: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"tattle report: cannot write: {e.Message}");
            return 2;
        }
    }

    /// <summary>The report in <paramref name="format"/> (table, json or markdown) to FILE or standard output.</summary>
    internal static void WriteOutput(string? outputPath, string format, Inventory inv)
    {
        if (format == "json")
        {
            using var stream = outputPath is null ? null : OutputFile.Create(outputPath);
            InventoryJson.Write(stream ?? StandardStream.Output, inv);
            return;
        }
        WriteFile(outputPath, w =>
        {
            if (format == "markdown")
            {
                InventoryText.WriteMarkdown(w, inv);
            }
            else
            {
                InventoryText.WriteTable(w, inv);
            }
        });
    }

    private static int WriteRules(FirewallRules rules, string format, string? outputPath, TextWriter stderr)
    {
        string text = rules.Render(format switch { "nft" => RuleFormat.Nft, "iptables" => RuleFormat.Iptables, _ => RuleFormat.K8s });
        foreach (var warning in rules.Warnings)
        {
            stderr.WriteLine($"tattle report: warning: {warning}");
        }
        WriteFile(outputPath, w => w.Write(text));
        return 0;
    }

    /// <summary>Text to FILE (created private, never through a symlink) or, without one, to standard output.</summary>
    internal static void WriteFile(string? path, Action<TextWriter> write)
    {
        using var writer = path is null ? new StreamWriter(StandardStream.Output, leaveOpen: true) : new StreamWriter(OutputFile.Create(path));
        write(writer);
    }
}
