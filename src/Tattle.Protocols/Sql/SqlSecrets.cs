using System.Buffers;
using System.Text;

namespace Tattle.Protocols.Sql;

/// <summary>Which SQL's lexical rules a statement follows: where its string literals and comments end.</summary>
public enum SqlDialect
{
    /// <summary>'…' (a backslash escapes only in E'…'), $tag$…$tag$, "…" names an identifier.</summary>
    PostgreSql,

    /// <summary>'…' and "…" are strings in which a backslash escapes, `…` names an identifier, # starts a comment.</summary>
    MySql,

    /// <summary>
    /// A statement on a command line or in a shell script (psql -c, mysql -e, sh -c '…'): "…" is the shell's quoting
    /// around it, not part of it; nothing is a comment (--password is an option, /* a glob); a backslash escapes in
    /// '…', so that a string read wrongly runs on and hides more, never less.
    /// </summary>
    CommandLine,
}

/// <summary>
/// Replaces the passwords a statement's text carries with REDACTED before a record keeps it: the string after
/// PASSWORD (CREATE/ALTER ROLE, postgres_fdw's OPTIONS, MySQL's PASSWORD() and IDENTIFIED BY PASSWORD), after
/// IDENTIFIED BY / IDENTIFIED WITH plugin BY|AS / IDENTIFIED VIA plugin USING, after MASTER_PASSWORD= and
/// SOURCE_PASSWORD=, after the = of SET PASSWORD, and the value of password= or the password of user:password@ in
/// any string (libpq connection strings: CREATE SUBSCRIPTION, dblink). The database's own logs keep them
/// (log_statement, the general log); a tracer's records must not.
/// </summary>
public static class SqlSecrets
{
    /// <summary>Text without one of these words holds none of the secrets above (most statements: one search).</summary>
    private static readonly SearchValues<string> Triggers =
        SearchValues.Create(["password", "identified"], StringComparison.OrdinalIgnoreCase);

    /// <summary><paramref name="sql"/> with its passwords replaced; the same instance when it holds none.</summary>
    public static string Redact(string sql, SqlDialect dialect)
    {
        if (!sql.AsSpan().ContainsAny(Triggers))
        {
            return sql;
        }
        var scan = new Scanner(sql, dialect);
        return scan.Run();
    }

    /// <summary>One pass over the tokens, remembering only what decides whether the next string is a secret.</summary>
    private ref struct Scanner(string sql, SqlDialect dialect)
    {
        private readonly string _sql = sql;
        private readonly bool _mysql = dialect == SqlDialect.MySql;
        private readonly bool _postgres = dialect == SqlDialect.PostgreSql;
        private readonly bool _backslashes = dialect != SqlDialect.PostgreSql;
        private readonly bool _comments = dialect != SqlDialect.CommandLine;
        private StringBuilder? _out;
        private int _copied;

        /// <summary>The next string literal is a password (a keyword named one; = and ( may come between).</summary>
        private bool _secretNext;

        /// <summary>Words since IDENTIFIED (1 just after it), 0 when none in reach: BY, AS, USING after it name a secret.</summary>
        private int _sinceIdentified;

        /// <summary>The statement's words so far, up to 2: SET PASSWORD makes the string after its = a secret.</summary>
        private int _words;

        private bool _setPassword;

        public string Run()
        {
            string s = _sql;
            int i = 0;
            while (i < s.Length)
            {
                char c = s[i];
                if (char.IsWhiteSpace(c))
                {
                    i++;
                }
                else if (((c == '-' && At(i + 1, '-')) || (_mysql && c == '#')) && _comments)
                {
                    int eol = s.IndexOf('\n', i);
                    i = eol < 0 ? s.Length : eol + 1;
                }
                else if (c == '/' && At(i + 1, '*') && _comments)
                {
                    int end = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
                    i = end < 0 ? s.Length : end + 2;
                }
                else if (c == '\'' || (c == '"' && _mysql))
                {
                    i = Literal(i, backslashes: _backslashes);
                }
                else if (c == '$' && _postgres && DollarTag(i) is int tagLength)
                {
                    int bodyStart = i + tagLength;
                    int close = s.IndexOf(s.Substring(i, tagLength), bodyStart, StringComparison.Ordinal);
                    StringBody(bodyStart, close < 0 ? s.Length : close);
                    i = close < 0 ? s.Length : close + tagLength;
                }
                else if (IsWordChar(c) || (c == '"' && _postgres) || (c == '`' && _mysql))
                {
                    i = Word(i);
                }
                else
                {
                    Punctuation(c);
                    i++;
                }
            }
            return _out is null ? s : _out.Append(s, _copied, s.Length - _copied).ToString();
        }

        private readonly bool At(int i, char c) => i < _sql.Length && _sql[i] == c;

        private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c is '_' or '$';

        /// <summary>A word, a quoted identifier, or a literal's prefix (E'…', N'…', MySQL's _utf8mb4'…').</summary>
        private int Word(int start)
        {
            string s = _sql;
            if (s[start] is '"' or '`')
            {
                int close = s.IndexOf(s[start], start + 1);
                Other();
                return close < 0 ? s.Length : close + 1;
            }
            int i = start;
            while (i < s.Length && IsWordChar(s[i]))
            {
                i++;
            }
            if (At(i, '\''))
            {
                // A prefix: PostgreSQL's E'…' is the one string there in which a backslash escapes.
                bool escapes = _backslashes || (i - start == 1 && s[start] is 'E' or 'e');
                return Literal(i, escapes);
            }
            Keyword(s.AsSpan(start, i - start));
            return i;
        }

        private void Keyword(ReadOnlySpan<char> word)
        {
            if (_words < 2)
            {
                _setPassword = _words == 0 ? word.Equals("SET", StringComparison.OrdinalIgnoreCase)
                    : _setPassword && word.Equals("PASSWORD", StringComparison.OrdinalIgnoreCase);
                _words++;
            }
            bool afterIdentified = _sinceIdentified is > 0 and <= 3;
            _sinceIdentified = word.Equals("IDENTIFIED", StringComparison.OrdinalIgnoreCase) ? 1
                : _sinceIdentified > 0 ? _sinceIdentified + 1 : 0;
            _secretNext = word.Equals("PASSWORD", StringComparison.OrdinalIgnoreCase)
                || word.EndsWith("_PASSWORD", StringComparison.OrdinalIgnoreCase)
                || (afterIdentified && (word.Equals("BY", StringComparison.OrdinalIgnoreCase)
                    || word.Equals("AS", StringComparison.OrdinalIgnoreCase)
                    || word.Equals("USING", StringComparison.OrdinalIgnoreCase)));
        }

        private void Punctuation(char c)
        {
            if (c == ';')
            {
                _words = 0;
                _setPassword = false;
                _sinceIdentified = 0;
                _secretNext = false;
            }
            else if (c == '=' && _setPassword)
            {
                _secretNext = true;
            }
            else if (c is not ('=' or '('))
            {
                // SET PASSWORD FOR 'user'@'host' = …: the names before the = are no secret.
                _secretNext = false;
            }
        }

        private void Other()
        {
            _secretNext = false;
            if (_words < 2)
            {
                _words++;
                _setPassword = false;
            }
        }

        /// <summary>A string whose opening quote is at <paramref name="quote"/>; returns the index past its end.</summary>
        private int Literal(int quote, bool backslashes)
        {
            string s = _sql;
            char q = s[quote];
            int i = quote + 1;
            while (i < s.Length)
            {
                if (s[i] == '\\' && backslashes)
                {
                    i += 2;
                    continue;
                }
                if (s[i] == q)
                {
                    if (At(i + 1, q))
                    {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i++;
            }
            StringBody(quote + 1, Math.Min(i, s.Length));
            return Math.Min(i + 1, s.Length);
        }

        /// <summary>A string's text: all of it hidden when a keyword named it a password, else its connection-string secrets.</summary>
        private void StringBody(int start, int end)
        {
            if (_secretNext)
            {
                Secret(start, end);
            }
            else
            {
                ConnectionStringSecrets(start, end);
            }
            Other();
        }

        /// <summary>"$$" or "$tag$" at <paramref name="i"/>: its length, or null for a parameter ($1) or a name's $.</summary>
        private readonly int? DollarTag(int i)
        {
            string s = _sql;
            if (i > 0 && IsWordChar(s[i - 1]))
            {
                return null;
            }
            int j = i + 1;
            while (j < s.Length && (char.IsLetter(s[j]) || s[j] == '_' || (j > i + 1 && char.IsDigit(s[j]))))
            {
                j++;
            }
            return j < s.Length && s[j] == '$' ? j + 1 - i : null;
        }

        /// <summary>password=VALUE and scheme://user:VALUE@ inside a string (a libpq connection string or URI).</summary>
        private void ConnectionStringSecrets(int start, int end)
        {
            var body = _sql.AsSpan(start, end - start);
            if (body.IsEmpty)
            {
                return;
            }
            // The URI's password comes before any password= of its query: replaced first, as Secret goes in order.
            int scheme = body.IndexOf("://", StringComparison.Ordinal);
            int uriEnd = 0;
            if (scheme >= 0)
            {
                var rest = body[(scheme + 3)..];
                int authorityEnd = rest.IndexOfAny('/', '?', ' ');
                var authority = authorityEnd < 0 ? rest : rest[..authorityEnd];
                int userEnd = authority.LastIndexOf('@');
                int colon = userEnd < 0 ? -1 : authority[..userEnd].IndexOf(':');
                if (colon >= 0 && userEnd > colon + 1)
                {
                    uriEnd = scheme + 3 + userEnd;
                    Secret(start + scheme + 3 + colon + 1, start + uriEnd);
                }
            }
            int at = uriEnd;
            while (at < body.Length)
            {
                int k = body[at..].IndexOf("password", StringComparison.OrdinalIgnoreCase);
                if (k < 0)
                {
                    break;
                }
                int p = at + k + "password".Length;
                bool wordStart = at + k == 0 || !IsWordChar(body[at + k - 1]);
                while (p < body.Length && body[p] == ' ')
                {
                    p++;
                }
                if (wordStart && p < body.Length && body[p] == '=')
                {
                    p++;
                    while (p < body.Length && body[p] == ' ')
                    {
                        p++;
                    }
                    int v = p;
                    while (p < body.Length && !char.IsWhiteSpace(body[p]) && body[p] != '&')
                    {
                        p++;
                    }
                    Secret(start + v, start + p);
                }
                at = p;
            }
        }

        /// <summary>Replaces [start, end) with REDACTED, in order (every call is past the previous one).</summary>
        private void Secret(int start, int end)
        {
            if (end <= start || start < _copied)
            {
                return;
            }
            _out ??= new StringBuilder(_sql.Length);
            _out.Append(_sql, _copied, start - _copied).Append(Http1.HttpRedactor.Redacted);
            _copied = end;
        }
    }
}
