using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>psql traced against a PostgreSQL 15 of the test's own (its statement log is the oracle).</summary>
[Collection("bpf")]
public sealed partial class PostgresTests(ITestOutputHelper output)
{
    private const string Bin = "/usr/lib/postgresql/15/bin";

    [SkippableFact]
    public async Task PsqlSelectOne_ShowsTheStatementItsTagAndRow()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "psql");
        Requires.FileFrom(output, Bin + "/initdb", "postgresql-15");
        using var server = PostgresServer.Start();
        var r = await TattleCli.RunAsync(["run", "--", "psql", "-X", "-h", "127.0.0.1", "-p", server.Port.ToString(),
            "-U", "postgres", "-d", "postgres", "-c", "select 1"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("sql select 1 -> SELECT 1 (1 row)", r.Stderr);
        var sql = Assert.Single(r.OfType("sql"));
        Assert.Equal(("postgresql", "select 1", "SELECT 1", 1L), (Str(sql, "system"), Str(sql, "query"), Str(sql, "tag"), sql.GetProperty("rows").GetInt64()));
        Assert.Equal(("postgres", "postgres"), (Str(sql, "user"), Str(sql, "database")));
        Assert.Empty(r.OfType("gap"));
    }

    [SkippableFact]
    public async Task PsqlScript_EveryLoggedStatementIsRecordedOnceWithItsOutcome()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "psql");
        Requires.FileFrom(output, Bin + "/initdb", "postgresql-15");
        using var server = PostgresServer.Start();
        string script = Path.Combine(server.Directory, "script.sql");
        string[] statements =
        [
            "create table t (id int, name text)",
            "insert into t values (1, 'one'), (2, 'two')",
            "select * from t order by id",
            "update t set name = 'uno' where id = 1",
            "select * from no_such_table",
            "delete from t",
            "drop table t",
        ];
        File.WriteAllText(script, string.Join(";\n", statements) + ";\n");
        var r = await TattleCli.RunAsync(["run", "--", "psql", "-X", "-q", "-h", "127.0.0.1", "-p", server.Port.ToString(),
            "-U", "postgres", "-d", "postgres", "-f", script]);
        output.WriteLine(r.ToString());
        var logged = StatementLine().Matches(File.ReadAllText(server.Log)).Select(m => m.Groups[1].Value.Trim().TrimEnd(';')).ToList();
        output.WriteLine(string.Join("\n", logged));
        Assert.Equal(statements, logged);
        var records = r.OfType("sql").ToList();
        foreach (string statement in logged)
        {
            Assert.Single(records, s => Str(s, "query")?.TrimEnd(';') == statement);
        }
        string? Tag(string q) => Str(records.Single(s => Str(s, "query")!.StartsWith(q, StringComparison.Ordinal)), "tag");
        Assert.Equal(("INSERT 0 2", "SELECT 2", "UPDATE 1", "DELETE 2"), (Tag("insert"), Tag("select * from t"), Tag("update"), Tag("delete")));
        var failed = records.Single(s => Str(s, "query")!.Contains("no_such_table"));
        Assert.Equal("42P01", Str(failed.GetProperty("error"), "code"));
        Assert.Equal(2, records.Single(s => Str(s, "query")!.StartsWith("select * from t", StringComparison.Ordinal)).GetProperty("rows").GetInt64());
    }

    [SkippableFact]
    public async Task PsqlSslRequire_GivesTheTlsHandshakeAfterTheSslRequest()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "psql");
        Requires.Program(output, "openssl");
        Requires.FileFrom(output, Bin + "/initdb", "postgresql-15");
        using var server = PostgresServer.Start(ssl: true);
        var r = await TattleCli.RunAsync(["run", "--", "env", "PGSSLMODE=require", "psql", "-X", "-h", "127.0.0.1",
            "-p", server.Port.ToString(), "-U", "postgres", "-d", "postgres", "-c", "select 1"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var handshake = Assert.Single(r.OfType("tls.handshake"));
        Assert.Equal("client", Str(handshake, "role"));
        Assert.NotNull(Str(handshake, "version"));
        var row = r.Summary.GetProperty("rows").EnumerateArray().Single(x => Str(x, "proto") == "tcp");
        Assert.Equal(["postgresql/tls"], row.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()));
        // The statements inside are read where psql hands them to OpenSSL.
        Assert.Contains("sql select 1 -> SELECT 1 (1 row)", r.Stderr);
    }

    [SkippableFact]
    public async Task Npgsql_ExtendedProtocolPipelinedAndPrepared_EveryExecuteShowsItsSql()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "dotnet");
        Requires.FileFrom(output, Bin + "/initdb", "postgresql-15");
        using var server = PostgresServer.Start();
        var r = await TattleCli.RunAsync(["run", "--", .. DbClients.Command("npgsql",
            $"Host=127.0.0.1;Port={server.Port};Username=postgres;Database=postgres;Pooling=false")]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("scalar 42", r.Stdout);
        Assert.Contains("batch rows 5", r.Stdout);
        Assert.Contains("error 42P01", r.Stdout);

        // The server logs each Execute with the text of its statement, named or not: the trace has each once.
        string log = File.ReadAllText(server.Log);
        var logged = ExecutedLine().Matches(log).Select(m => m.Groups[1].Value.Trim()).Order(StringComparer.Ordinal).ToList();
        var records = r.OfType("sql").ToList();
        var answered = records.Where(s => s.GetProperty("error").ValueKind == System.Text.Json.JsonValueKind.Null)
            .Select(s => Str(s, "query")!.Split('\n')[0].Trim()).Order(StringComparer.Ordinal).ToList();
        output.WriteLine(string.Join("\n", logged));
        Assert.Equal(logged, answered);
        var prepared = records.Where(s => Str(s, "query") == "select name from t where id = $1").ToList();
        Assert.Equal(3, prepared.Count);
        Assert.All(prepared, s => Assert.Equal(("SELECT 1", 1L, 1), (Str(s, "tag"), s.GetProperty("rows").GetInt64(), Int(s, "params"))));
        Assert.Equal(5, records.Single(s => Str(s, "query") == "select id, name from t order by id").GetProperty("rows").GetInt64());

        // Its Parse fails, so the server logs no execute but the error and the statement.
        Assert.Contains("STATEMENT:  select * from no_such_table", log);
        var failed = records.Single(s => Str(s, "query") == "select * from no_such_table");
        Assert.Equal("42P01", Str(failed.GetProperty("error"), "code"));
        Assert.Empty(r.OfType("gap"));
    }

    [SkippableFact]
    public async Task Psycopg2_EveryLoggedStatementIsRecordedOnce()
    {
        Requires.RootAndBpf(output);
        Requires.FileFrom(output, "/usr/lib/python3/dist-packages/psycopg2/__init__.py", "python3-psycopg2");
        Requires.FileFrom(output, Bin + "/initdb", "postgresql-15");
        using var server = PostgresServer.Start();
        string script = Path.Combine(server.Directory, "client.py");
        File.WriteAllText(script, $$"""
            import psycopg2
            conn = psycopg2.connect(host="127.0.0.1", port={{server.Port}}, user="postgres", dbname="postgres")
            cur = conn.cursor()
            cur.execute("create table pets (id int primary key, name text)")
            cur.executemany("insert into pets values (%s, %s)", [(1, "cat"), (2, "dog"), (3, "eel")])
            cur.execute("select name from pets where id > %s order by id", (1,))
            print("rows", len(cur.fetchall()))
            conn.commit()
            try:
                cur.execute("insert into pets values (%s, %s)", (1, "duplicate"))
            except psycopg2.IntegrityError as e:
                print("error", e.pgcode)
                conn.rollback()
            conn.close()
            """);
        // Debian's python3-psycopg2 is built for /usr/bin/python3, not for another python3 on PATH.
        var r = await TattleCli.RunAsync(["run", "--", "/usr/bin/python3", script]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("rows 2", r.Stdout);
        Assert.Contains("error 23505", r.Stdout);

        var logged = StatementLine().Matches(File.ReadAllText(server.Log)).Select(m => m.Groups[1].Value.Trim()).Order(StringComparer.Ordinal).ToList();
        var records = r.OfType("sql").ToList();
        output.WriteLine(string.Join("\n", logged));
        Assert.Equal(logged, records.Select(s => Str(s, "query")!.Trim()).Order(StringComparer.Ordinal).ToList());
        Assert.Equal(3, records.Count(s => Str(s, "tag") == "INSERT 0 1"));
        Assert.Equal(2, records.Single(s => Str(s, "query")!.StartsWith("select name", StringComparison.Ordinal)).GetProperty("rows").GetInt64());
        Assert.Equal("23505", Str(records.Single(s => Str(s, "query")!.Contains("duplicate")).GetProperty("error"), "code"));
    }

    [GeneratedRegex(@"LOG:  statement: (.*)")]
    private static partial Regex StatementLine();

    [GeneratedRegex(@"LOG:  (?:statement|execute [^:]+): (.*)")]
    private static partial Regex ExecutedLine();

    /// <summary>A PostgreSQL cluster in a temporary directory, trust authentication on 127.0.0.1, logging every statement.</summary>
    private sealed class PostgresServer : IDisposable
    {
        private PostgresServer(string directory, int port)
        {
            Directory = directory;
            Port = port;
        }

        public string Directory { get; }

        public int Port { get; }

        public string Log => Path.Combine(Directory, "log");

        private string Data => Path.Combine(Directory, "data");

        public static PostgresServer Start(bool ssl = false)
        {
            string dir = System.IO.Directory.CreateTempSubdirectory("tattle-pg-").FullName;
            File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
            var server = new PostgresServer(dir, FreePort());
            Run("chown", "postgres:postgres", dir);
            AsPostgres(Bin + "/initdb", "-D", server.Data, "-A", "trust", "-U", "postgres");
            if (ssl)
            {
                AsPostgres("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", Path.Combine(server.Data, "server.key"), "-out", Path.Combine(server.Data, "server.crt"));
            }
            AsPostgres(Bin + "/pg_ctl", "-D", server.Data, "-l", server.Log, "-w", "-o",
                $"-p {server.Port} -k {dir} -c listen_addresses=127.0.0.1 -c log_statement=all -c ssl={(ssl ? "on" : "off")}", "start");
            return server;
        }

        public void Dispose()
        {
            try
            {
                AsPostgres(Bin + "/pg_ctl", "-D", Data, "-m", "immediate", "-w", "stop");
            }
            finally
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
        }

        private static int FreePort()
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            return ((IPEndPoint)l.LocalEndpoint).Port;
        }

        private static void AsPostgres(params string[] args) => Run("runuser", ["-u", "postgres", "--", .. args]);

        private static void Run(string program, params string[] args)
        {
            var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in args)
            {
                psi.ArgumentList.Add(a);
            }
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"{program} {string.Join(' ', args)}: exit {p.ExitCode}: {err}");
            }
        }
    }
}
