using Tattle.Capture.Libs;

namespace Tattle.Capture.Probes;

/// <summary>
/// One probe asked for on the command line: <c>LIB:GLOB</c>, optionally with a signature
/// (<c>libzmq:zmq_send(ptr, buf:len=arg3, int, int) -> int</c>), or a USDT probe <c>usdt:LIB:PROVIDER:NAME</c>.
/// </summary>
/// <param name="Text">As given.</param>
/// <param name="Library">The object: a file name (libzmq, libc.so.6, curl) or a path.</param>
/// <param name="Function">The function names to probe (or, for USDT, PROVIDER:NAME).</param>
/// <param name="Signature">The signature given, or null (then a built-in one where there is one).</param>
/// <param name="Usdt">A USDT probe rather than a function.</param>
public sealed record ProbeSpec(string Text, string Library, SymbolGlob Function, CallSignature? Signature, bool Usdt = false)
{
    /// <summary>Parses one spec; returns null and one line saying what is wrong.</summary>
    public static ProbeSpec? Parse(string text, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        error = "";
        string s = text.Trim();
        bool usdt = s.StartsWith("usdt:", StringComparison.Ordinal);
        if (usdt)
        {
            s = s[5..];
        }
        int colon = s.IndexOf(':');
        if (colon <= 0 || colon == s.Length - 1)
        {
            error = usdt ? $"'{text}': expected usdt:LIB:PROVIDER:NAME, e.g. usdt:python3:python:function__entry"
                : $"'{text}': expected LIB:FUNCTION, e.g. libc:getaddrinfo or 'libzmq:zmq_*'";
            return null;
        }
        string library = s[..colon].Trim();
        if (library.Length == 0)
        {
            error = $"'{text}': no library before the ':' (a name like libc or a path)";
            return null;
        }
        string rest = s[(colon + 1)..].Trim();
        CallSignature? signature = null;
        int paren = SignatureStart(rest);
        if (paren >= 0)
        {
            signature = CallSignature.Parse(rest[paren..], out string why);
            if (signature is null)
            {
                error = $"'{text}': {why}";
                return null;
            }
            rest = rest[..paren].Trim();
        }
        // Both halves of PROVIDER:NAME: an empty one would match no probe, silently.
        if (usdt && (rest.Count(c => c == ':') != 1 || rest[0] == ':' || rest[^1] == ':'))
        {
            error = $"'{text}': expected usdt:LIB:PROVIDER:NAME";
            return null;
        }
        if (rest.Length == 0 || !rest.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '*' or '?' or '[' or ']' or '!' or '-' or '.' or '$' or '/' or '(' or ')' || (c == ':' && usdt))
            || !ReceiversClosed(rest))
        {
            error = $"'{text}': '{rest}' is not a function name or pattern (letters, digits, _ and * ? [ ])";
            return null;
        }
        if (library.IndexOfAny(['*', '?', '[']) >= 0)
        {
            error = $"'{text}': the library is a name or a path, not a pattern";
            return null;
        }
        return new ProbeSpec(text, library, new SymbolGlob(rest), signature, usdt);
    }

    /// <summary>Where the signature begins, or -1.</summary>
    /// <remarks>Go names a method by its receiver in parentheses (net/http.(*Client).Do): a '(' after a '.' is part of the name.</remarks>
    private static int SignatureStart(string rest)
    {
        for (int i = 0; i < rest.Length; i++)
        {
            if (rest[i] == '(' && (i == 0 || rest[i - 1] != '.'))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Whether each ')' closes a Go receiver's '(' and each is closed.</summary>
    private static bool ReceiversClosed(string name)
    {
        int depth = 0;
        foreach (char c in name)
        {
            depth += c == '(' ? 1 : c == ')' ? -1 : 0;
            if (depth < 0)
            {
                return false;
            }
        }
        return depth == 0;
    }

    /// <summary>Whether <paramref name="path"/> (a mapped object or an executable) is this spec's library.</summary>
    public bool MatchesLibrary(string path) => LibraryMatches(Library, path);

    /// <summary>
    /// A library name matches a file of that name, or with a version after it (libc → libc.so.6, libzmq →
    /// libzmq.so.5, the soname libzmq.so.5 → libzmq.so.5.2.4, python3.11 → the executable), with "lib" assumed (zmq →
    /// libzmq.so.5); a path matches itself.
    /// </summary>
    public static bool LibraryMatches(string library, string path)
    {
        if (library.Contains('/'))
        {
            return path == library;
        }
        string name = Path.GetFileName(path);
        return NameMatches(library, name) || (!library.StartsWith("lib", StringComparison.Ordinal) && NameMatches("lib" + library, name));
    }

    private static bool NameMatches(string library, string name)
    {
        if (name == library)
        {
            return true;
        }
        if (!name.StartsWith(library, StringComparison.Ordinal) || name.Length == library.Length)
        {
            return false;
        }
        var after = name.AsSpan(library.Length);
        return after.StartsWith(".so")
            || (after[0] == '-' && name.Contains(".so", StringComparison.Ordinal))
            // A soname (what ldd shows) names the file by its major version, the file mapped is the full one; and a
            // program is often run by its unversioned name (python3 is python3.11).
            || (after.Length > 1 && after[0] == '.' && char.IsAsciiDigit(after[1]));
    }
}
