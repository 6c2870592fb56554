using StackExchange.Redis;

namespace DbClients;

/// <summary>
/// StackExchange.Redis multiplexes every caller onto one connection and pipelines what they send: COUNT SETs and
/// COUNT GETs issued together, then awaited.
/// </summary>
public static class RedisClient
{
    public static async Task<int> RunAsync(string endpoint, int count)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(endpoint);
        var db = redis.GetDatabase();
        var sets = Enumerable.Range(0, count).Select(i => db.StringSetAsync($"k{i}", new string('v', i))).ToList();
        var gets = Enumerable.Range(0, count).Select(i => db.StringGetAsync($"k{i}")).ToList();
        await Task.WhenAll(sets);
        var values = await Task.WhenAll(gets);
        Console.WriteLine($"sets {sets.Count(t => t.Result)} gets {values.Count(v => v.HasValue)}");
        return 0;
    }
}
