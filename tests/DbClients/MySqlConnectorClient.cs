using MySqlConnector;

namespace DbClients;

/// <summary>
/// MySqlConnector over one connection, printing what each step gave. Prepared statements are the point: Prepare()
/// makes it send COM_STMT_PREPARE, then COM_STMT_EXECUTE per run and COM_STMT_CLOSE at dispose.
/// </summary>
public static class MySqlConnectorClient
{
    public static async Task<int> RunAsync(string connectionString)
    {
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync();

        await Plain("drop table if exists tattle_t");
        await Plain("create table tattle_t (id int primary key, name varchar(8))");
        await using (var insert = new MySqlCommand("insert into tattle_t values (@id, @name)", connection))
        {
            insert.Parameters.AddWithValue("@id", 0);
            insert.Parameters.AddWithValue("@name", "");
            await insert.PrepareAsync();
            foreach (var (id, name) in new[] { (1, "one"), (2, "two"), (3, "three") })
            {
                insert.Parameters["@id"].Value = id;
                insert.Parameters["@name"].Value = name;
                Console.WriteLine($"prepared insert {id}: {await insert.ExecuteNonQueryAsync()}");
            }
            // A duplicate key: the execution fails with an ERR packet (1062).
            insert.Parameters["@id"].Value = 1;
            try
            {
                await insert.ExecuteNonQueryAsync();
            }
            catch (MySqlException e)
            {
                Console.WriteLine($"prepared insert 1 again: error {e.Number}");
            }
        }
        await using (var select = new MySqlCommand("select id, name from tattle_t where id >= @min order by id", connection))
        {
            select.Parameters.AddWithValue("@min", 2);
            await select.PrepareAsync();
            Console.WriteLine($"prepared select: {await Count(select)} rows");
        }
        await using (var count = new MySqlCommand("select count(*) from tattle_t", connection))
        {
            Console.WriteLine($"plain select: {await Count(count)} rows");
        }
        await Plain("drop table tattle_t");
        return 0;

        async Task Plain(string sql)
        {
            await using var command = new MySqlCommand(sql, connection);
            Console.WriteLine($"{sql}: {await command.ExecuteNonQueryAsync()}");
        }

        static async Task<int> Count(MySqlCommand command)
        {
            await using var reader = await command.ExecuteReaderAsync();
            int rows = 0;
            while (await reader.ReadAsync())
            {
                rows++;
            }
            return rows;
        }
    }
}
