using Tattle.Protocols.Http1;
using Tattle.Protocols.Sql;

namespace Tattle.Tracking.Processes;

/// <summary>
/// Hides secrets that command lines carry (`curl -H 'Authorization: …'`, `-u user:pass`, `-uuser:pass`,
/// `--user=user:pass`, `--password=…`, `TOKEN=… cmd`, URLs with credentials, connection strings' `Password=…;`,
/// JWTs and Bearer/Basic tokens anywhere) before process records show an argv. The rules are the HTTP ones: the same header names and the
/// same words (token, secret, password, key, …) in option and variable names. Clients whose password options
/// carry no such word are known by name (`redis-cli -a`, `mysql -p…`, `sshpass -p`, `mongosh -p`), as are
/// Redis commands that carry one (`AUTH`, `HELLO … AUTH`, `MIGRATE … AUTH2`, `CONFIG SET requirepass`, `ACL SETUSER … >pw`), SQL statements that set one
/// (`psql -c "alter role … password '…'"`, `mysql -e "… identified by '…'"`) and OpenSSL's `pass:…`. An
/// argument holding a script (`sh -c '…'`) is read word by word with the same rules.
/// </summary>
public static class ArgvRedactor
{
    /// <summary>Options whose argument is "user:password" (curl, wget, many others).</summary>
    private static readonly string[] UserOptions = ["-u", "--user", "--proxy-user", "-U"];

    /// <summary>A client's password options that name no secret word, by program.</summary>
    /// <param name="Separate">Options whose next argument is a secret.</param>
    /// <param name="Attached">Options whose secret follows in the same argument (-pSECRET).</param>
    /// <param name="Cookies">Options whose argument is cookie data when it holds a '=' (a file name otherwise), either way.</param>
    private sealed record PasswordOptions(string[] Separate, string[] Attached, bool RedisCommands = false, string[]? Cookies = null);

    private static readonly PasswordOptions RedisCli = new(["-a"], [], RedisCommands: true);
    private static readonly PasswordOptions MySqlClient = new([], ["-p"]);
    private static readonly PasswordOptions MongoClient = new(["-p"], []);

    private static readonly Dictionary<string, PasswordOptions> ProgramPasswords = new(StringComparer.Ordinal)
    {
        // redis-cli takes -a's value only as the next argument; AUTH's and requirepass's are Redis commands.
        ["redis-cli"] = RedisCli,
        ["valkey-cli"] = RedisCli,
        ["keydb-cli"] = RedisCli,
        // mysql's -p takes a value only attached (-pSECRET); a bare -p prompts, and the next argument is a database.
        ["mysql"] = MySqlClient,
        ["mariadb"] = MySqlClient,
        ["mysqldump"] = MySqlClient,
        ["mariadb-dump"] = MySqlClient,
        ["mysqladmin"] = MySqlClient,
        ["mariadb-admin"] = MySqlClient,
        ["mysqlimport"] = MySqlClient,
        ["mysqlshow"] = MySqlClient,
        ["mysqlcheck"] = MySqlClient,
        ["mysqlbinlog"] = MySqlClient,
        // curl: a token, and cookies given as NAME=VALUE (-b "a=1; b=2", -b"a=1"), which are the Cookie header's.
        ["curl"] = new(["--oauth2-bearer"], [], Cookies: ["-b", "--cookie"]),
        // getopt: -p SECRET and -pSECRET.
        ["sshpass"] = new(["-p"], ["-p"]),
        ["mongo"] = MongoClient,
        ["mongosh"] = MongoClient,
        ["mongodump"] = MongoClient,
        ["mongorestore"] = MongoClient,
        ["mongoexport"] = MongoClient,
        ["mongoimport"] = MongoClient,
    };

    /// <summary>Redis settings whose value is a password (CONFIG SET); AUTH's arguments are all hidden (StartsRedisSecrets).</summary>
    private static readonly string[] RedisSecretBefore = ["requirepass", "masterauth"];

    public static IReadOnlyList<string> Redact(IReadOnlyList<string> argv)
    {
        string[]? copy = null;
        var program = argv.Count > 0 ? PasswordsOf(argv[0]) : null;
        bool restSecret = false;
        bool aclRules = false;
        for (int i = 0; i < argv.Count; i++)
        {
            string previous = i > 0 ? argv[i - 1] : "";
            string redacted;
            if (restSecret)
            {
                redacted = HttpRedactor.Redacted;
            }
            else if (aclRules && AclPassword(argv[i]) is { } hidden)
            {
                redacted = hidden;
            }
            else
            {
                redacted = RedactConnectionString(RedactOne(argv[i], previous, program));
                if (redacted.AsSpan().ContainsAny(Blanks))
                {
                    redacted = RedactWords(redacted);
                }
                redacted = HttpRedactor.RedactCredentials(redacted);
                // psql -c "alter role … password '…'", mysql -e "… identified by '…'", and the same inside sh -c.
                redacted = SqlSecrets.Redact(redacted, SqlDialect.CommandLine);
                restSecret = i > 0 && StartsRedisSecrets(argv[i], program);
                aclRules |= StartsAclRules(argv[i], previous, program);
            }
            if (redacted != argv[i])
            {
                copy ??= [.. argv];
                copy[i] = redacted;
            }
        }
        return copy ?? argv;
    }

    /// <summary>
    /// Free text a traced program handed to a library (a probed call's string: a query, a connection string, a
    /// header) through the rules of one command-line argument: NAME=value, headers, URLs, SQL passwords, tokens.
    /// </summary>
    public static string RedactText(string text) => Redact([text])[0];

    /// <summary>The password options of the program a word names (a path's last part), if it is a known client.</summary>
    private static PasswordOptions? PasswordsOf(string word)
    {
        var name = word.AsSpan();
        int slash = name.LastIndexOf('/');
        return ProgramPasswords.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name[(slash + 1)..], out var options)
            ? options : null;
    }

    /// <summary>Redis's AUTH (alone or inside HELLO) and MIGRATE's AUTH2: every argument after it is a user name or a password.</summary>
    private static bool StartsRedisSecrets(string word, PasswordOptions? program) =>
        program is { RedisCommands: true } && (word.Equals("AUTH", StringComparison.OrdinalIgnoreCase) || word.Equals("AUTH2", StringComparison.OrdinalIgnoreCase));

    /// <summary>Redis's ACL SETUSER: the rules after it add and remove passwords (&gt;pw, &lt;pw) and their hashes (#h, !h).</summary>
    private static bool StartsAclRules(string word, string previous, PasswordOptions? program) =>
        program is { RedisCommands: true } && word.Equals("SETUSER", StringComparison.OrdinalIgnoreCase)
        && Unquoted(previous).Core.Equals("ACL", StringComparison.OrdinalIgnoreCase);

    /// <summary>An ACL rule that names a password or its hash, with the password hidden; null for any other rule.</summary>
    private static string? AclPassword(string rule) =>
        rule.Length > 1 && rule[0] is '>' or '<' or '#' or '!' ? rule[0] + HttpRedactor.Redacted : null;

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
        foreach (string pair in pairs)
        {
            // Every part is "key=value" with a key of words ("User ID", "Pwd"), or blank: otherwise this is a
            // script ("curl 'http://h/?token=…'; PASSWORD=x make"), which the word rules read instead.
            int eq = pair.IndexOf('=');
            if (eq < 0 ? !pair.AsSpan().IsWhiteSpace() : eq == 0 || pair.AsSpan(0, eq).Trim().ContainsAnyExcept(ConnectionStringKeyChars))
            {
                return arg;
            }
        }
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

    private static readonly System.Buffers.SearchValues<char> ConnectionStringKeyChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.-");

    private static readonly System.Buffers.SearchValues<char> Blanks = System.Buffers.SearchValues.Create(" \t\n");

    /// <summary>A script's words through the same rules, each with the word before it; the blanks kept as they were.</summary>
    private static string RedactWords(string script)
    {
        var words = script.Split([' ', '\t', '\n']);
        bool changed = false;
        PasswordOptions? program = null;
        bool restSecret = false;
        bool aclRules = false;
        string previous = "";
        for (int i = 0; i < words.Length; i++)
        {
            string word = words[i];
            // The shell's quotes and a command's ';' around a word are kept, and the rules read what is inside.
            var (core, lead, trail) = Unquoted(word);
            if (PasswordsOf(core) is { } named)
            {
                program = named;
                restSecret = false;
            }
            // The header rule needs the name and value in one argument, which a script splits: not applied here.
            string redacted = core.Length == 0 ? word
                : restSecret ? SecretWord(word)
                : aclRules && AclPassword(core) is { } hidden ? word[..lead] + hidden + word[^trail..]
                : word[..lead] + RedactWord(core, previous, program) + word[^trail..];
            if (word is "&&" or "||" or "|" or ";" || word.EndsWith(';'))
            {
                // The next command starts: a known client's rules hold until it is named again.
                program = null;
                restSecret = false;
                aclRules = false;
            }
            else
            {
                restSecret |= StartsRedisSecrets(core, program);
                aclRules |= StartsAclRules(core, previous, program);
            }
            previous = core;
            if (redacted != word)
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

    private static string RedactOne(string arg, string previous, PasswordOptions? program)
    {
        int headerColon = arg.IndexOf(':');
        // OpenSSL's "pass:SECRET" is not a header: RedactWord has its rule.
        if (headerColon > 0 && !arg.Contains("://", StringComparison.Ordinal) && !arg.StartsWith(OpenSslPassPrefix, StringComparison.Ordinal)
            && IsToken(arg.AsSpan(0, headerColon))
            && HttpRedactor.IsSecretHeader(arg.AsSpan(0, headerColon)))
        {
            return arg[..(headerColon + 1)] + " " + HttpRedactor.Redacted;
        }
        if (arg.AsSpan().ContainsAny(Blanks))
        {
            // A script or a phrase: the rules that run to the argument's end (a URL's query, NAME=value) would take
            // every word after the secret with it, so they are applied word by word (RedactWords).
            return ValueAfter(arg, previous, program) ?? arg;
        }
        return RedactWord(arg, previous, program);
    }

    /// <summary>The argument as the value of the option or Redis word before it, when that makes it secret.</summary>
    private static string? ValueAfter(string arg, string previous, PasswordOptions? program)
    {
        // "--no-auth-warning", "--no-password": a negated option is a switch, and the next argument is not its value.
        if (IsOption(previous) && !previous.Contains('=') && !previous.StartsWith("--no-", StringComparison.Ordinal))
        {
            if (UserOptions.Contains(previous, StringComparer.Ordinal))
            {
                // redis-cli -u redis://user:pw@host, curl -u alice:pw.
                return arg.Contains("://", StringComparison.Ordinal) ? HttpRedactor.RedactUrl(arg) : AfterColon(arg, 0);
            }
            if (HttpRedactor.IsSecretParameter(previous.TrimStart('-'))
                || (program is not null && program.Separate.Contains(previous, StringComparer.Ordinal)))
            {
                return SecretWord(arg);
            }
        }
        if (program?.Cookies is { } cookies && cookies.Contains(previous, StringComparer.Ordinal) && arg.Contains('='))
        {
            return SecretWord(arg);
        }
        if (program is { RedisCommands: true } && RedisSecretBefore.Contains(previous, StringComparer.OrdinalIgnoreCase))
        {
            return SecretWord(arg);
        }
        return null;
    }

    private static string RedactWord(string arg, string previous, PasswordOptions? program)
    {
        // OpenSSL's passphrase arguments (-passin, -passout, -pass): pass:SECRET; env: and file: name no secret.
        if (arg.StartsWith(OpenSslPassPrefix, StringComparison.Ordinal) && arg.Length > OpenSslPassPrefix.Length)
        {
            return OpenSslPassPrefix + SecretWord(arg[OpenSslPassPrefix.Length..]);
        }
        if (ValueAfter(arg, previous, program) is { } value)
        {
            return value;
        }
        if (program is not null)
        {
            foreach (string option in program.Attached)
            {
                if (arg.Length > option.Length && arg.StartsWith(option, StringComparison.Ordinal))
                {
                    return option + SecretWord(arg[option.Length..]);
                }
            }
            foreach (string option in program.Cookies ?? [])
            {
                if (option.Length == 2 && arg.Length > 2 && arg.StartsWith(option, StringComparison.Ordinal) && arg.Contains('='))
                {
                    return option + SecretWord(arg[2..]);
                }
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

    private const string OpenSslPassPrefix = "pass:";

    /// <summary>A secret word replaced; the quotes and a command's closing ';' around it stay.</summary>
    private static string SecretWord(string word)
    {
        var (_, lead, trail) = Unquoted(word);
        return word[..lead] + HttpRedactor.Redacted + word[^trail..];
    }

    /// <summary>A word without the quotes before it and the quotes and ';' after it, and how many of each there were.</summary>
    private static (string Core, int Lead, int Trail) Unquoted(string word)
    {
        int start = 0, end = word.Length;
        while (start < end && word[start] is '\'' or '"')
        {
            start++;
        }
        while (end > start && word[end - 1] is '\'' or '"' or ';')
        {
            end--;
        }
        return (word[start..end], start, word.Length - end);
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
