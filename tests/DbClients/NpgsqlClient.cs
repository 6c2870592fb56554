using Npgsql;

namespace DbClients;

/// <summary>
/// Npgsql speaks only the extended protocol: a parameterised query, a pipelined batch (three Parse/Bind/Execute
/// before one Sync), a prepared statement run three times (named: later runs send only Bind/Execute), and an error.
/// </summary>
public static class NpgsqlClient
{
    public static async Task<int> RunAsync(string connectionString)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();

        await using (var cmd = new NpgsqlCommand("select $1::int + 1", conn))
        {
            cmd.Parameters.AddWithValue(41);
            Console.WriteLine($"scalar {await cmd.ExecuteScalarAsync()}");
        }

        await using (var batch = new NpgsqlBatch(conn))
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("create temp table t (id int, name text)"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("insert into t select g, 'n' || g from generate_series(1, 5) g"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("select id, name from t order by id"));
            await using var reader = await batch.ExecuteReaderAsync();
            int rows = 0;
            while (await reader.ReadAsync())
            {
                rows++;
            }
            Console.WriteLine($"batch rows {rows}");
        }

        await using (var prepared = new NpgsqlCommand("select name from t where id = $1", conn))
        {
            var id = new NpgsqlParameter<int>();
            prepared.Parameters.Add(id);
            await prepared.PrepareAsync();
            for (int i = 1; i <= 3; i++)
            {
                id.TypedValue = i;
                Console.WriteLine($"prepared {await prepared.ExecuteScalarAsync()}");
            }
        }

        try
        {
            await using var bad = new NpgsqlCommand("select * from no_such_table", conn);
            await bad.ExecuteNonQueryAsync();
        }
        catch (PostgresException e)
        {
            Console.WriteLine($"error {e.SqlState}");
        }
        return 0;
    }
}
