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
