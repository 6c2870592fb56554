namespace Tattle.Capture.Libs;

/// <summary>A shell-style pattern over symbol names: `*` any run, `?` one character, `[abc]`, `[a-z]`, `[!x]`/`[^x]`.</summary>
/// <remarks>A `[` without a closing `]` stands for itself, as in fnmatch(3).</remarks>
public sealed class SymbolGlob(string pattern)
{
    /// <summary>The pattern as given.</summary>
    public string Pattern { get; } = pattern ?? throw new ArgumentNullException(nameof(pattern));

    /// <summary>True when the whole of <paramref name="name"/> matches.</summary>
    public bool IsMatch(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        // Iterative matching with one backtrack point (the last `*`): linear in practice, never exponential.
        int p = 0, n = 0, starP = -1, starN = 0;
        while (n < name.Length)
        {
            if (p < Pattern.Length && Pattern[p] == '*')
            {
                starP = ++p;
                starN = n;
                continue;
            }
            if (p < Pattern.Length && MatchOne(name[n], ref p))
            {
                n++;
                continue;
            }
            if (starP < 0)
            {
                return false;
            }
            p = starP;
            n = ++starN;
        }
        while (p < Pattern.Length && Pattern[p] == '*')
        {
            p++;
        }
        return p == Pattern.Length;
    }

    /// <summary>Matches one character at pattern position <paramref name="p"/>, advancing past what it consumed.</summary>
    private bool MatchOne(char c, ref int p)
    {
        char head = Pattern[p];
        if (head == '?')
        {
            p++;
            return true;
        }
        if (head == '[' && ClassEnd(p) is int end)
        {
            int i = p + 1;
            bool negate = Pattern[i] is '!' or '^';
            if (negate)
            {
                i++;
            }
            bool hit = false;
            while (i < end)
            {
                char lo = Pattern[i];
                if (i + 2 < end && Pattern[i + 1] == '-')
                {
                    hit |= c >= lo && c <= Pattern[i + 2];
                    i += 3;
                }
                else
                {
                    hit |= c == lo;
                    i++;
                }
            }
            p = end + 1;
            return hit != negate;
        }
        p++;
        return head == c;
    }

    /// <summary>The index of the `]` closing the class opened at <paramref name="open"/>; a `]` right after `[` or `[!` is a member.</summary>
    private int? ClassEnd(int open)
    {
        int i = open + 1;
        if (i < Pattern.Length && Pattern[i] is '!' or '^')
        {
            i++;
        }
        if (i < Pattern.Length && Pattern[i] == ']')
        {
            i++;
        }
        int end = Pattern.IndexOf(']', Math.Min(i, Pattern.Length));
        return end < 0 ? null : end;
    }
}
