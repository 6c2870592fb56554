namespace Tattle.Protocols.Redis;

/// <summary>What a record keeps of a command: its name (with the subcommand of container commands) and first key.</summary>
internal static class RedisCommands
{
    /// <summary>Commands whose second word is a subcommand ("CONFIG SET", "CLIENT SETNAME").</summary>
    private static readonly HashSet<string> Containers = new(StringComparer.OrdinalIgnoreCase)
    {
        "ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DEBUG", "FUNCTION", "LATENCY", "MEMORY", "MODULE",
        "OBJECT", "PUBSUB", "SCRIPT", "SLOWLOG", "XGROUP", "XINFO",
    };

    /// <summary>Container subcommands whose next argument is a key (OBJECT ENCODING k, XINFO STREAM k).</summary>
    private static readonly HashSet<string> KeyedContainers = new(StringComparer.OrdinalIgnoreCase)
    {
        "MEMORY", "OBJECT", "XGROUP", "XINFO",
    };

    /// <summary>
    /// Commands whose first argument is not a key: a channel, a pattern, a password, a host, a number. AUTH, HELLO and
    /// MIGRATE are here so their arguments (credentials, hosts) are never recorded.
    /// </summary>
    private static readonly HashSet<string> Keyless = new(StringComparer.OrdinalIgnoreCase)
    {
        "AUTH", "BGREWRITEAOF", "BGSAVE", "DBSIZE", "DISCARD", "ECHO", "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO",
        "EXEC", "FAILOVER", "FCALL", "FCALL_RO", "FLUSHALL", "FLUSHDB", "HELLO", "INFO", "KEYS", "LASTSAVE", "LOLWUT",
        "MIGRATE", "MONITOR", "MULTI", "PING", "PSUBSCRIBE", "PSYNC", "PUBLISH", "PUNSUBSCRIBE", "QUIT", "RANDOMKEY",
        "READONLY", "READWRITE", "REPLCONF", "REPLICAOF", "RESET", "ROLE", "SAVE", "SCAN", "SELECT", "SHUTDOWN",
        "SLAVEOF", "SPUBLISH", "SSUBSCRIBE", "SUBSCRIBE", "SUNSUBSCRIBE", "SWAPDB", "SYNC", "TIME", "UNSUBSCRIBE",
        "UNWATCH", "WAIT", "WAITAOF", "XREAD", "XREADGROUP", "BITOP",
    };

    /// <summary>Common command names, upper-case: a command's name is looked up here rather than allocated each time.</summary>
    private static readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Known = KnownNames();

    private static Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> KnownNames()
    {
        string[] common =
        [
            "APPEND", "BLPOP", "BRPOP", "BZPOPMIN", "DECR", "DECRBY", "DEL", "EXISTS", "EXPIRE", "GET", "GETDEL", "GETEX",
            "GETSET", "HDEL", "HEXISTS", "HGET", "HGETALL", "HINCRBY", "HKEYS", "HLEN", "HMGET", "HMSET", "HSET", "HVALS",
            "INCR", "INCRBY", "INCRBYFLOAT", "LINDEX", "LLEN", "LPOP", "LPUSH", "LRANGE", "LREM", "LTRIM", "MGET", "MSET",
            "PERSIST", "PEXPIRE", "PTTL", "RPOP", "RPUSH", "SADD", "SCARD", "SET", "SETEX", "SETNX", "SISMEMBER",
            "SMEMBERS", "SREM", "STRLEN", "TTL", "TYPE", "UNLINK", "WATCH", "XADD", "XLEN", "XRANGE", "ZADD", "ZCARD",
            "ZINCRBY", "ZRANGE", "ZRANK", "ZREM", "ZREVRANGE", "ZSCORE",
        ];
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string name in common.Concat(Containers).Concat(Keyless))
        {
            names[name] = name;
        }
        return names.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The known command spelt by <paramref name="name"/> in any case, without allocating; null if unknown.</summary>
    public static string? KnownName(ReadOnlySpan<byte> name)
    {
        if (name.Length > 32)
        {
            return null;
        }
        Span<char> chars = stackalloc char[name.Length];
        for (int i = 0; i < name.Length; i++)
        {
            chars[i] = (char)name[i];
        }
        return Known.TryGetValue(chars, out var known) ? known : null;
    }

    /// <summary>Commands that subscribe or unsubscribe: each channel named is confirmed by its own reply.</summary>
    public static bool IsSubscription(string command) => command is "SUBSCRIBE" or "PSUBSCRIBE" or "SSUBSCRIBE"
        or "UNSUBSCRIBE" or "PUNSUBSCRIBE" or "SUNSUBSCRIBE";

    /// <summary>The kinds of pub/sub message the server sends unasked.</summary>
    public static bool IsMessageKind(string? kind) => kind is not null
        && (kind.Equals("message", StringComparison.OrdinalIgnoreCase) || kind.Equals("pmessage", StringComparison.OrdinalIgnoreCase)
            || kind.Equals("smessage", StringComparison.OrdinalIgnoreCase));

    /// <summary>The command's name as records show it, and its first key (null when it has none or it was too long).</summary>
    public static (string Command, string? Key) Describe(ReadOnlySpan<string?> words, long count)
    {
        string name = Upper(words[0]) ?? "?";
        if (Containers.Contains(name) && count > 1)
        {
            string sub = Upper(words[1]) ?? "?";
            string? key = KeyedContainers.Contains(name) && count > 2 && !IsHelp(sub) ? words[2] : null;
            return (string.Concat(name, " ", sub), key);
        }
        return (name, count > 1 && !Keyless.Contains(name) ? words[1] : null);
    }

    private static bool IsHelp(string sub) => sub == "HELP";

    /// <summary>Upper-cases ASCII command names; the common ones are the same string every time.</summary>
    private static string? Upper(string? word)
    {
        if (word is null)
        {
            return null;
        }
        string upper = word.ToUpperInvariant();
        return string.IsInterned(upper) ?? upper;
    }
}
