using DbClients;

// One driver a run, against the server the test started; each prints what it did so the test can compare it with
// both the trace and the server's own account.
return args switch
{
    ["npgsql", var connectionString] => await NpgsqlClient.RunAsync(connectionString),
    ["redis", var endpoint, var count] => await RedisClient.RunAsync(endpoint, int.Parse(count)),
    ["mysql", var connectionString] => await MySqlConnectorClient.RunAsync(connectionString),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: DbClients npgsql CONNECTION-STRING | redis HOST:PORT COUNT | mysql CONNECTION-STRING");
    return 2;
}
