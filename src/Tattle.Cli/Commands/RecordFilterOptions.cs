using System.CommandLine;
using System.Globalization;
using System.Net;
using Tattle.Output;
using Tattle.Protocols;

namespace Tattle.Cli.Commands;

/// <summary>--port, --host and --app: which connections' records the live view, JSON Lines and summary show.</summary>
internal sealed class RecordFilterOptions
{
    public Option<string[]> Port { get; } = new("--port")
    {
        Description = "Show only connections with this local or remote port (and their messages); repeatable",
        HelpName = "PORT",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string[]> Host { get; } = new("--host")
    {
        Description = "Show only connections to or from this host name (or a subdomain), address or ADDRESS/PREFIX; repeatable",
        HelpName = "NAME|CIDR",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string[]> App { get; } = new("--app")
    {
        Description = "Show only connections that carried this application protocol (http, dns, tls) and its messages; repeatable",
        HelpName = "NAME",
        AllowMultipleArgumentsPerToken = false,
    };

    public void AddTo(Command command)
    {
        command.Add(Port);
        command.Add(Host);
        command.Add(App);
        Port.Validators.Add(result => AddErrors(result, ParsePort));
        Host.Validators.Add(result => AddErrors(result, spec => RecordFilter.ParseHost(spec, out _, out _)));
        App.Validators.Add(result => AddErrors(result, ParseApp));
    }

    /// <summary>The filter the options describe; empty when none was given.</summary>
    public RecordFilter Bind(ParseResult result)
    {
        var networks = new List<IPNetwork>();
        var names = new List<string>();
        foreach (var spec in result.GetValue(Host) ?? [])
        {
            RecordFilter.ParseHost(spec, out var network, out var name);
            if (network is { } n)
            {
                networks.Add(n);
            }
            if (name is not null)
            {
                names.Add(name);
            }
        }
        return new RecordFilter
        {
            Ports = (result.GetValue(Port) ?? []).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToHashSet(),
            Networks = networks,
            HostNames = names,
            Apps = (result.GetValue(App) ?? []).Select(a => a.Trim().ToLowerInvariant()).ToHashSet(StringComparer.Ordinal),
        };
    }

    private static void AddErrors(System.CommandLine.Parsing.OptionResult result, Func<string, string?> check)
    {
        foreach (var spec in result.Tokens.Select(t => t.Value))
        {
            if (check(spec) is { } error)
            {
                result.AddError(error);
            }
        }
    }

    private static string? ParsePort(string spec) =>
        int.TryParse(spec, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 1 and <= 65535
            ? null : $"--port expects a port from 1 to 65535, got '{spec}'";

    private static string? ParseApp(string spec)
    {
        string name = spec.Trim().ToLowerInvariant();
        if (ProtocolCatalog.Default.Find(name) is not null)
        {
            return null;
        }
        var known = string.Join(", ", ProtocolCatalog.Default.Protocols.Select(p => p.Name));
        return $"--app: unknown protocol '{spec}' (known: {known})";
    }
}
