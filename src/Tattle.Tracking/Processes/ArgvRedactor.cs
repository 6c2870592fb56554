using Tattle.Protocols.Http1;

namespace Tattle.Tracking.Processes;

/// <summary>
/// Hides secrets that command lines carry (`curl -H 'Authorization: …'`, `-u user:pass`, `-uuser:pass`,
/// `--user=user:pass`, `--password=…`, `TOKEN=… cmd`, URLs with credentials, connection strings' `Password=…;`,
/// JWTs and Bearer/Basic tokens anywhere) before process records show an argv. The rules are the HTTP ones: the same header names and the
/// same words (token, secret, password, key, …) in option and variable names. An argument holding a script
/// (`sh -c '…'`) is read word by word with the same rules.
/// </summary>
public static class ArgvRedactor
{
    /// <summary>Options whose argument is "user:password" (curl, wget, many others).</summary>
    private static readonly string[] UserOptions = ["-u", "--user", "--proxy-user", "-U"];

    public static IReadOnlyList<string> Redact(IReadOnlyList<string> argv)
    {
        string[]? copy = null;
        for (int i = 0; i < argv.Count; i++)
        {
            string previous = i > 0 ? argv[i - 1] : "";
            string redacted = RedactConnectionString(RedactOne(argv[i], previous));
            if (redacted.AsSpan().ContainsAny(Blanks))
            {
                redacted = RedactWords(redacted);
            }
            redacted = HttpRedactor.RedactCredentials(redacted);
            if (!ReferenceEquals(redacted, argv[i]))
            {
                copy ??= [.. argv];
                copy[i] = redacted;
            }
        }
        return copy ?? argv;
    }

    /// <summary>
    /// ADO.NET and ODBC connection strings ("Server=db;User ID=app;Password=…;"): the value of each secret key is
    /// replaced, whatever the keys around it (they may hold blanks, which the word rules would split at).
    /// </summary>
    private static string RedactConnectionString(string arg)
    {
        if (!arg.Contains(';') || !arg.Contains('='))
        {
            return arg;
        }
        var pairs = arg.Split(';');
        bool changed = false;
        for (int i = 0; i < pairs.Length; i++)
        {
            int eq = pairs[i].IndexOf('=');
            if (eq > 0 && HttpRedactor.IsSecretParameter(pairs[i].AsSpan(0, eq).Trim()) && pairs[i][(eq + 1)..] != HttpRedactor.Redacted)
            {
                pairs[i] = pairs[i][..(eq + 1)] + HttpRedactor.Redacted;
                changed = true;
            }
        }
        return changed ? string.Join(';', pairs) : arg;
    }

    private static readonly System.Buffers.SearchValues<char> Blanks = System.Buffers.SearchValues.Create(" \t\n");

    /// <summary>A script's words through the same rules, each with the word before it; the blanks kept as they were.</summary>
    private static string RedactWords(string script)
    {
        var words = script.Split([' ', '\t', '\n']);
        bool changed = false;
        for (int i = 0; i < words.Length; i++)
        {
            string word = words[i];
            // The header rule needs the name and value in one argument, which a script splits: not applied here.
            string redacted = RedactWord(word, i > 0 ? words[i - 1] : "");
            if (!ReferenceEquals(redacted, word))
            {
                words[i] = redacted;
                changed = true;
            }
        }
        if (!changed)
        {
            return script;
        }
        // Rebuild with the original separators.
        var sb = new System.Text.StringBuilder(script.Length);
        int at = 0;
        for (int i = 0; i < words.Length; i++)
        {
            int length = script.AsSpan(at).IndexOfAny(Blanks) is int k and >= 0 ? k : script.Length - at;
            sb.Append(words[i]);
            at += length;
            if (at < script.Length)
            {
                sb.Append(script[at]);
                at++;
            }
        }
        return sb.ToString();
    }

    private static string RedactOne(string arg, string previous)
    {
        int headerColon = arg.IndexOf(':');
        if (headerColon > 0 && !arg.Contains("://", StringComparison.Ordinal) && IsToken(arg.AsSpan(0, headerColon))
            && HttpRedactor.IsSecretHeader(arg.AsSpan(0, headerColon)))
        {
            return arg[..(headerColon + 1)] + " " + HttpRedactor.Redacted;
        }
        return RedactWord(arg, previous);
    }

    private static string RedactWord(string arg, string previous)
    {
        if (IsOption(previous) && !previous.Contains('='))
        {
            if (UserOptions.Contains(previous, StringComparer.Ordinal))
            {
                return AfterColon(arg, 0);
            }
            if (HttpRedactor.IsSecretParameter(previous.TrimStart('-')))
            {
                return HttpRedactor.Redacted;
            }
        }
        foreach (string option in UserOptions)
        {
            // --user=alice:pw, and a short option with its value attached: -ualice:pw.
            if (option.StartsWith("--", StringComparison.Ordinal) && arg.Length > option.Length + 1
                && arg.StartsWith(option, StringComparison.Ordinal) && arg[option.Length] == '=')
            {
                return AfterColon(arg, option.Length + 1);
            }
            if (option.Length == 2 && arg.Length > 2 && arg.StartsWith(option, StringComparison.Ordinal))
            {
                return AfterColon(arg, 2);
            }
        }
        int eq = arg.IndexOf('=');
        if (eq > 0 && IsToken(arg.AsSpan(0, eq).TrimStart('-')) && HttpRedactor.IsSecretParameter(arg.AsSpan(0, eq)))
        {
            return arg[..(eq + 1)] + HttpRedactor.Redacted;
        }
        return arg.Contains("://", StringComparison.Ordinal) ? HttpRedactor.RedactUrl(arg) : arg;
    }

    /// <summary>"user:password" from <paramref name="from"/> on, with the password replaced; the same string without a colon.</summary>
    private static string AfterColon(string arg, int from)
    {
        int colon = arg.IndexOf(':', from);
        if (colon < 0 || arg.AsSpan(colon + 1).TrimEnd("'\"").SequenceEqual(HttpRedactor.Redacted))
        {
            return arg;
        }
        // A closing quote stays, so that a script still reads as one.
        string quote = arg.Length > colon + 1 && arg[^1] is '\'' or '"' ? arg[^1..] : "";
        return arg[..(colon + 1)] + HttpRedactor.Redacted + quote;
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
