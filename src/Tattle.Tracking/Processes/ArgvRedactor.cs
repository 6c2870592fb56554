using Tattle.Protocols.Http1;

namespace Tattle.Tracking.Processes;

/// <summary>
/// Hides secrets that command lines carry (`curl -H 'Authorization: …'`, `-u user:pass`, `--password=…`,
/// `TOKEN=… cmd`, URLs with credentials) before process records show an argv. The rules are the HTTP ones: the
/// same header names and the same words (token, secret, password, key) in option and variable names.
/// </summary>
public static class ArgvRedactor
{
    /// <summary>Options whose next argument is "user:password" (curl, wget, many others).</summary>
    private static readonly string[] UserOptions = ["-u", "--user", "--proxy-user", "-U"];

    public static IReadOnlyList<string> Redact(IReadOnlyList<string> argv)
    {
        string[]? copy = null;
        for (int i = 0; i < argv.Count; i++)
        {
            string previous = i > 0 ? argv[i - 1] : "";
            string redacted = RedactOne(argv[i], previous, i);
            if (!ReferenceEquals(redacted, argv[i]))
            {
                copy ??= [.. argv];
                copy[i] = redacted;
            }
        }
        return copy ?? argv;
    }

    private static string RedactOne(string arg, string previous, int index)
    {
        if (index > 0 && IsOption(previous) && !previous.Contains('='))
        {
            if (UserOptions.Contains(previous, StringComparer.Ordinal))
            {
                int colon = arg.IndexOf(':');
                return colon >= 0 ? arg[..(colon + 1)] + HttpRedactor.Redacted : arg;
            }
            if (HttpRedactor.IsSecretParameter(previous.TrimStart('-')))
            {
                return HttpRedactor.Redacted;
            }
        }
        int headerColon = arg.IndexOf(':');
        if (headerColon > 0 && !arg.Contains("://", StringComparison.Ordinal) && IsToken(arg.AsSpan(0, headerColon))
            && HttpRedactor.IsSecretHeader(arg.AsSpan(0, headerColon)))
        {
            return arg[..(headerColon + 1)] + " " + HttpRedactor.Redacted;
        }
        int eq = arg.IndexOf('=');
        if (eq > 0 && IsToken(arg.AsSpan(0, eq).TrimStart('-')) && HttpRedactor.IsSecretParameter(arg.AsSpan(0, eq)))
        {
            return arg[..(eq + 1)] + HttpRedactor.Redacted;
        }
        return arg.Contains("://", StringComparison.Ordinal) ? HttpRedactor.RedactUrl(arg) : arg;
    }

    private static bool IsOption(string arg) => arg.Length > 1 && arg[0] == '-';

    private static bool IsToken(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }
        return true;
    }
}
