using System.Globalization;
using System.Text;

namespace Tattle.Capture.Probes;

/// <summary>How an argument or a result of a probed function is read and shown.</summary>
public enum ArgType
{
    /// <summary>A 32-bit signed integer (the low half of the register).</summary>
    Int,

    /// <summary>A 32-bit unsigned integer.</summary>
    UInt,

    /// <summary>A 64-bit signed integer (long, ssize_t).</summary>
    Long,

    /// <summary>A 64-bit unsigned integer (unsigned long, size_t).</summary>
    ULong,

    /// <summary>An address, shown in hex.</summary>
    Ptr,

    /// <summary>A NUL-terminated string, copied by the kernel (up to 255 bytes).</summary>
    Str,

    /// <summary>A buffer whose length is another argument or the result, copied (up to 256 bytes).</summary>
    Buf,

    /// <summary>A struct sockaddr whose length is another argument: shown as address and port.</summary>
    SockAddr,

    /// <summary>A C bool or int used as one.</summary>
    Bool,

    /// <summary>No value (a result only).</summary>
    Void,
}

/// <summary>One argument of a signature: its type, an optional name, and for a buffer where its length is.</summary>
/// <param name="Type">How it is read.</param>
/// <param name="Name">The name shown with it, or null.</param>
/// <param name="LengthFrom">For Buf/SockAddr: 1–6, the argument holding the length, or <see cref="LengthFromResult"/>.</param>
public readonly record struct CallArgument(ArgType Type, string? Name = null, int LengthFrom = 0)
{
    /// <summary><see cref="LengthFrom"/> for a buffer the function fills: the result is its length.</summary>
    public const int LengthFromResult = 7;

    /// <summary>Whether the kernel copies bytes of it.</summary>
    public bool IsCaptured => Type is ArgType.Str or ArgType.Buf or ArgType.SockAddr;
}

/// <summary>
/// What a probed function takes and returns, written like <c>(ptr, buf:len=arg3 data, int, int) -> int</c>: the
/// kernel copies its strings and buffers, user space formats the rest from the registers.
/// </summary>
public sealed record CallSignature(IReadOnlyList<CallArgument> Arguments, ArgType Return)
{
    /// <summary>The most arguments read: the six registers of the System V (and Go) calling convention.</summary>
    public const int MaxArguments = 6;

    private static readonly Dictionary<string, ArgType> Types = new(StringComparer.Ordinal)
    {
        ["int"] = ArgType.Int,
        ["uint"] = ArgType.UInt,
        ["long"] = ArgType.Long,
        ["ssize"] = ArgType.Long,
        ["ulong"] = ArgType.ULong,
        ["size"] = ArgType.ULong,
        ["ptr"] = ArgType.Ptr,
        ["str"] = ArgType.Str,
        ["buf"] = ArgType.Buf,
        ["sockaddr"] = ArgType.SockAddr,
        ["bool"] = ArgType.Bool,
        ["void"] = ArgType.Void,
    };

    /// <summary>The type names a signature may use, for error messages and docs.</summary>
    public static string TypeNames => string.Join(", ", Types.Keys);

    /// <summary>
    /// The attach cookie's argument bits (bpf/tattle.h, TATTLE_CALL_ARG_SHIFT): what the kernel copies of each argument.
    /// </summary>
    public ulong CookieBits
    {
        get
        {
            ulong bits = 0;
            for (int i = 0; i < Arguments.Count; i++)
            {
                var a = Arguments[i];
                ulong cap = a.Type == ArgType.Str ? 1UL : a.IsCaptured ? 2UL : 0UL;
                ulong from = a.IsCaptured && a.Type != ArgType.Str ? (ulong)a.LengthFrom : 0;
                bits |= (cap | (from << 3)) << (20 + (6 * i));
            }
            return bits;
        }
    }

    /// <summary>
    /// Parses <c>(ARG, …) [-> TYPE]</c>; an ARG is <c>TYPE [NAME]</c>, a buffer <c>buf:len=argN</c> or
    /// <c>buf:len=ret</c>, a socket address <c>sockaddr:len=argN</c>. Returns null and the reason for bad input.
    /// </summary>
    public static CallSignature? Parse(string text, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        error = "";
        string s = text.Trim();
        if (!s.StartsWith('('))
        {
            error = "a signature starts with '(': (TYPE, …) -> TYPE";
            return null;
        }
        int close = s.IndexOf(')');
        if (close < 0)
        {
            error = "the argument list has no closing ')'";
            return null;
        }
        string inner = s[1..close].Trim();
        string rest = s[(close + 1)..].Trim();
        var ret = ArgType.Long;
        if (rest.Length > 0)
        {
            if (!rest.StartsWith("->", StringComparison.Ordinal))
            {
                error = $"unexpected '{rest}' after the arguments (expected -> TYPE)";
                return null;
            }
            string r = rest[2..].Trim();
            if (!Types.TryGetValue(r, out ret) || ret is ArgType.Buf or ArgType.SockAddr)
            {
                error = $"unknown result type '{r}' (one of {string.Join(", ", Types.Keys.Where(k => k is not ("buf" or "sockaddr")))})";
                return null;
            }
        }
        var args = new List<CallArgument>();
        if (inner.Length > 0 && inner != "void")
        {
            foreach (string part in inner.Split(','))
            {
                if (ParseArgument(part.Trim(), args.Count + 1, out string why) is not { } arg)
                {
                    error = $"argument {args.Count + 1}: {why}";
                    return null;
                }
                args.Add(arg);
                if (args.Count > MaxArguments)
                {
                    error = $"at most {MaxArguments} arguments are read (the registers that carry them)";
                    return null;
                }
            }
        }
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a.LengthFrom == CallArgument.LengthFromResult && ret is not (ArgType.Int or ArgType.Long or ArgType.UInt or ArgType.ULong))
            {
                error = $"argument {i + 1}: len=ret needs an integer result";
                return null;
            }
            if (a.LengthFrom is >= 1 and <= MaxArguments)
            {
                if (a.LengthFrom > args.Count || a.LengthFrom == i + 1 || args[a.LengthFrom - 1].Type is not (ArgType.Int or ArgType.UInt or ArgType.Long or ArgType.ULong))
                {
                    error = $"argument {i + 1}: len=arg{a.LengthFrom} must name another, integer argument";
                    return null;
                }
            }
        }
        return new CallSignature(args, ret);
    }

    private static CallArgument? ParseArgument(string text, int position, out string error)
    {
        error = "";
        if (text.Length == 0)
        {
            error = "empty (expected a type: " + TypeNames + ")";
            return null;
        }
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length > 2)
        {
            error = $"'{text}' is not TYPE or TYPE NAME";
            return null;
        }
        string? name = words.Length == 2 ? words[1] : null;
        if (name is not null && !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            error = $"'{name}' is not a name (letters, digits, _)";
            return null;
        }
        string type = words[0];
        string? modifier = null;
        int colon = type.IndexOf(':');
        if (colon >= 0)
        {
            modifier = type[(colon + 1)..];
            type = type[..colon];
        }
        if (!Types.TryGetValue(type, out var t) || t == ArgType.Void)
        {
            error = $"unknown type '{type}' (one of {string.Join(", ", Types.Keys.Where(k => k != "void"))})";
            return null;
        }
        if (t is ArgType.Buf or ArgType.SockAddr)
        {
            if (modifier is null || !modifier.StartsWith("len=", StringComparison.Ordinal))
            {
                error = $"{type} needs its length: {type}:len=argN" + (t == ArgType.Buf ? " or buf:len=ret" : "");
                return null;
            }
            string from = modifier[4..];
            if (from == "ret" && t == ArgType.Buf)
            {
                return new CallArgument(t, name, CallArgument.LengthFromResult);
            }
            if (from.StartsWith("arg", StringComparison.Ordinal) && int.TryParse(from.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= MaxArguments)
            {
                return new CallArgument(t, name, n);
            }
            error = $"len={from}: expected len=arg1 … len=arg{MaxArguments}" + (t == ArgType.Buf ? " or len=ret" : "");
            return null;
        }
        if (modifier is not null)
        {
            error = $"{type} takes no ':{modifier}'";
            return null;
        }
        return new CallArgument(t, name);
    }

    /// <summary>The signature as it would be written.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("(");
        for (int i = 0; i < Arguments.Count; i++)
        {
            var a = Arguments[i];
            sb.Append(i > 0 ? ", " : "").Append(NameOf(a.Type));
            if (a.Type is ArgType.Buf or ArgType.SockAddr)
            {
                sb.Append(":len=").Append(a.LengthFrom == CallArgument.LengthFromResult ? "ret" : "arg" + a.LengthFrom.ToString(CultureInfo.InvariantCulture));
            }
            if (a.Name is not null)
            {
                sb.Append(' ').Append(a.Name);
            }
        }
        return sb.Append(") -> ").Append(NameOf(Return)).ToString();
    }

    private static string NameOf(ArgType t) => Types.First(p => p.Value == t).Key;
}
