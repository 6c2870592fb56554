namespace Tattle.Protocols.Memcached;

/// <summary>The first word of a reply line.</summary>
internal enum ReplyCode : byte
{
    Unknown,
    Value,
    End,

    /// <summary>A line of a multi-line stats reply (STAT, ITEM).</summary>
    Stat,
    Stored,
    NotStored,
    Exists,
    NotFound,
    Deleted,
    Touched,
    Ok,
    Reset,
    Version,
    Error,
    ClientError,
    ServerError,

    /// <summary>incr/decr's new value.</summary>
    Number,
    VA,
    HD,
    EN,
    NF,
    NS,
    EX,
    MN,
    ME,
}

/// <summary>Reply words and which replies each command can get.</summary>
internal static class MemcachedReplies
{
    private static readonly (byte[] Word, ReplyCode Code, string Name)[] All =
    [
        ("VALUE"u8.ToArray(), ReplyCode.Value, "VALUE"), ("END"u8.ToArray(), ReplyCode.End, "END"),
        ("STAT"u8.ToArray(), ReplyCode.Stat, "STAT"), ("ITEM"u8.ToArray(), ReplyCode.Stat, "ITEM"),
        ("STORED"u8.ToArray(), ReplyCode.Stored, "STORED"), ("NOT_STORED"u8.ToArray(), ReplyCode.NotStored, "NOT_STORED"),
        ("EXISTS"u8.ToArray(), ReplyCode.Exists, "EXISTS"), ("NOT_FOUND"u8.ToArray(), ReplyCode.NotFound, "NOT_FOUND"),
        ("DELETED"u8.ToArray(), ReplyCode.Deleted, "DELETED"), ("TOUCHED"u8.ToArray(), ReplyCode.Touched, "TOUCHED"),
        ("OK"u8.ToArray(), ReplyCode.Ok, "OK"), ("RESET"u8.ToArray(), ReplyCode.Reset, "RESET"),
        ("VERSION"u8.ToArray(), ReplyCode.Version, "VERSION"), ("ERROR"u8.ToArray(), ReplyCode.Error, "ERROR"),
        ("CLIENT_ERROR"u8.ToArray(), ReplyCode.ClientError, "CLIENT_ERROR"),
        ("SERVER_ERROR"u8.ToArray(), ReplyCode.ServerError, "SERVER_ERROR"),
        ("VA"u8.ToArray(), ReplyCode.VA, "VA"), ("HD"u8.ToArray(), ReplyCode.HD, "HD"), ("EN"u8.ToArray(), ReplyCode.EN, "EN"),
        ("NF"u8.ToArray(), ReplyCode.NF, "NF"), ("NS"u8.ToArray(), ReplyCode.NS, "NS"), ("EX"u8.ToArray(), ReplyCode.EX, "EX"),
        ("MN"u8.ToArray(), ReplyCode.MN, "MN"), ("ME"u8.ToArray(), ReplyCode.ME, "ME"),
    ];

    public static ReplyCode Find(ReadOnlySpan<byte> word)
    {
        if (word.Length is < 2 or > 12)
        {
            return ReplyCode.Unknown;
        }
        foreach (var (w, code, _) in All)
        {
            if (word.SequenceEqual(w))
            {
                return code;
            }
        }
        return ReplyCode.Unknown;
    }

    /// <summary>The reply's word as records show it ("STORED", "EN").</summary>
    public static string Name(ReplyCode code)
    {
        foreach (var (_, c, name) in All)
        {
            if (c == code)
            {
                return name;
            }
        }
        return "";
    }

    public static bool IsError(ReplyCode code) => code is ReplyCode.Error or ReplyCode.ClientError or ReplyCode.ServerError;

    /// <summary>
    /// What a quiet (<c>q</c>) meta command's silence means, as memcached 1.6 behaves: mg leaves out EN (a miss),
    /// ms and md leave out HD, ma leaves out HD and VA (success); None for commands that are always answered.
    /// </summary>
    public static ReplyCode Suppressed(CommandKind kind) => kind switch
    {
        CommandKind.MetaGet => ReplyCode.EN,
        CommandKind.MetaSet or CommandKind.MetaDelete or CommandKind.MetaArith => ReplyCode.HD,
        _ => ReplyCode.Unknown,
    };

    /// <summary>Whether a quiet meta command of <paramref name="kind"/> leaves <paramref name="code"/> out.</summary>
    public static bool IsSuppressed(CommandKind kind, ReplyCode code) =>
        code == Suppressed(kind) || (kind == CommandKind.MetaArith && code == ReplyCode.VA);

    /// <summary>Whether a meta command of <paramref name="kind"/> can be answered with <paramref name="code"/>.</summary>
    public static bool CanAnswer(CommandKind kind, ReplyCode code) => IsError(code) || kind switch
    {
        CommandKind.MetaGet => code is ReplyCode.VA or ReplyCode.HD or ReplyCode.EN,
        CommandKind.MetaSet => code is ReplyCode.HD or ReplyCode.NS or ReplyCode.EX or ReplyCode.NF,
        CommandKind.MetaDelete => code is ReplyCode.HD or ReplyCode.NF or ReplyCode.EX,
        CommandKind.MetaArith => code is ReplyCode.HD or ReplyCode.VA or ReplyCode.NF or ReplyCode.NS or ReplyCode.EX,
        CommandKind.MetaNoop => code == ReplyCode.MN,
        CommandKind.MetaDebug => code is ReplyCode.ME or ReplyCode.EN,
        _ => true,
    };
}
