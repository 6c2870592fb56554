using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// The mariadb client and a MySqlConnector client traced against a MariaDB server of the test's own (its general
/// log is the oracle).
/// </summary>
[Collection("bpf")]
public sealed partial class MySqlTests(ITestOutputHelper output)
{
    private const string Password = "hunter2-never-recorded";

    [SkippableFact]
    public async Task MariadbClient_EveryLoggedQueryIsRecordedOnceWithItsRows()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "mariadb");
        Requires.Program(output, "mariadbd");
        using var server = MariaDbServer.Start();
        // The mariadb client stops at an error given with -e: the failing statement comes last.
        string[] statements =
        [
            "select 1",
            "create table t (id int, name text)",
            "insert into t values (1, 'one'), (2, 'two')",
            "select * from t order by id",
            "update t set name = 'uno' where id = 1",
            "drop table t",
            "selec 2",
        ];
        var r = await TattleCli.RunAsync(["run", "--", "mariadb", "--no-defaults", "--force", "--ssl=0", "-h", "127.0.0.1",
            "-P", server.Port.ToString(), "-u", "tattle", $"--password={Password}", "test", "-e", string.Join(";\n", statements)]);
        output.WriteLine(r.ToString());
        var logged = server.Logged("Query");
        output.WriteLine(string.Join("\n", logged));
        Assert.Equal(statements, logged.Intersect(statements));
        var records = r.OfType("sql").ToList();
        Assert.All(records, s => Assert.Equal("mysql", Str(s, "system")));
        foreach (string statement in logged)
        {
            Assert.Single(records, s => Str(s, "query") == statement);
        }
        long Rows(string q) => records.Single(s => Str(s, "query") == q).GetProperty("rows").GetInt64();
        Assert.Equal((1L, 2L, 2L, 1L), (Rows("select 1"), Rows("select * from t order by id"), Rows("insert into t values (1, 'one'), (2, 'two')"), Rows("update t set name = 'uno' where id = 1")));
        var failed = records.Single(s => Str(s, "query") == "selec 2").GetProperty("error");
        Assert.Equal(("42000", 1064), (Str(failed, "code"), failed.GetProperty("number").GetInt32()));
        Assert.Contains("sql select 1 -> 1 row", r.Stderr);
        Assert.Contains("sql selec 2 -> ERR 1064", r.Stderr);
        Assert.All(records, s => Assert.Equal("tattle", Str(s, "user")));
        Assert.DoesNotContain("hunter2", r.Stdout + r.Stderr);
        Assert.Empty(r.OfType("gap"));
    }

    [SkippableFact]
    public async Task MySqlConnectorPreparedStatements_EachExecuteIsReportedWithItsSql()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "mariadbd");
        using var server = MariaDbServer.Start();
        var r = await TattleCli.RunAsync(["run", "--", .. DbClients.Command("mysql",
            $"Server=127.0.0.1;Port={server.Port};User ID=tattle;Password={Password};Database=test;SslMode=None;Pooling=false")]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var prepared = server.Logged("Prepare");
        var executed = server.Logged("Execute");
        output.WriteLine(string.Join("\n", prepared.Concat(executed)));
        var records = r.OfType("sql").Where(s => Str(s, "system") == "mysql").ToList();
        // Each Execute the server logged (with its values filled in) is one record with the SQL as prepared.
        var executions = records.Where(s => Str(s, "query")?.Contains('?') == true).ToList();
        Assert.Equal(executed.Count, executions.Count);
        Assert.Equal(
            ["insert into tattle_t values (?, ?)", "insert into tattle_t values (?, ?)", "insert into tattle_t values (?, ?)", "insert into tattle_t values (?, ?)", "select id, name from tattle_t where id >= ? order by id"],
            executions.Select(s => Str(s, "query")));
        Assert.All(prepared, p => Assert.Contains(executions, s => Str(s, "query") == p));
        Assert.Equal([2, 2, 2, 2, 1], executions.Select(s => s.GetProperty("params").GetInt32()));
        Assert.Equal(1062, executions[3].GetProperty("error").GetProperty("number").GetInt32());
        Assert.Equal(2L, executions[4].GetProperty("rows").GetInt64());
        foreach (string statement in server.Logged("Query"))
        {
            output.WriteLine(statement);
            Assert.Single(records, s => Str(s, "query")?.TrimEnd(';') == statement.TrimEnd(';'));
        }
        // Neither the records nor the start line, which shows the connection string, carry the password.
        Assert.DoesNotContain("hunter2", r.Stdout + r.Stderr);
        Assert.Contains("Password=REDACTED", r.Stderr);
    }

    [GeneratedRegex(@"^(?:\d{6}\s+\d+:\d\d:\d\d)?\s+\d+ (\w+)\t(.*)$")]
    private static partial Regex LogLine();

    /// <summary>
    /// A MariaDB server in a temporary directory on 127.0.0.1, with the user "tattle" (a password) and the
    /// database "test", writing every command to its general log.
    /// </summary>
    private sealed class MariaDbServer : IDisposable
    {
        private readonly Process _process;

        private MariaDbServer(string directory, int port, Process process)
        {
            Directory = directory;
            Port = port;
            _process = process;
        }

        public string Directory { get; }

        public int Port { get; }

        private string Log => Path.Combine(Directory, "general.log");

        public static MariaDbServer Start()
        {
            string dir = System.IO.Directory.CreateTempSubdirectory("tattle-mysql-").FullName;
            string data = Path.Combine(dir, "data");
            string socket = Path.Combine(dir, "sock");
            Run("mariadb-install-db", "--no-defaults", $"--datadir={data}", "--user=root", "--auth-root-authentication-method=socket");
            int port = FreePort();
            var psi = new ProcessStartInfo("mariadbd") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in (string[])["--no-defaults", $"--datadir={data}", $"--port={port}", "--bind-address=127.0.0.1",
                $"--socket={socket}", "--user=root", "--skip-name-resolve", "--general-log=1", $"--general-log-file={Path.Combine(dir, "general.log")}",
                $"--log-error={Path.Combine(dir, "error.log")}", $"--pid-file={Path.Combine(dir, "pid")}"])
            {
                psi.ArgumentList.Add(a);
            }
            var process = Process.Start(psi)!;
            var server = new MariaDbServer(dir, port, process);
            var until = DateTime.UtcNow.AddSeconds(30);
            while (!File.Exists(socket) && !process.HasExited && DateTime.UtcNow < until)
            {
                Thread.Sleep(100);
            }
            Run("mariadb", "--no-defaults", "-S", socket, "-u", "root", "-e",
                $"create user tattle@'%' identified by '{Password}'; grant all on *.* to tattle@'%'; create database if not exists test");
            return server;
        }

        /// <summary>The general log's arguments of the given command ("Query", "Prepare", "Execute") from user tattle's connections.</summary>
        public List<string> Logged(string command)
        {
            var lines = File.ReadAllLines(Log);
            var mine = new HashSet<string>();
            var found = new List<string>();
            foreach (string line in lines)
            {
                if (LogLine().Match(line) is not { Success: true } m)
                {
                    continue;
                }
                string thread = ThreadOf(line);
                if (m.Groups[1].Value == "Connect" && m.Groups[2].Value.StartsWith("tattle@", StringComparison.Ordinal))
                {
                    mine.Add(thread);
                }
                else if (m.Groups[1].Value == command && mine.Contains(thread))
                {
                    found.Add(m.Groups[2].Value.Trim());
                }
            }
            return found;
        }

        private static string ThreadOf(string line) => ThreadId().Match(line).Groups[1].Value;

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill();
                    _process.WaitForExit(10_000);
                }
                _process.Dispose();
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

    [GeneratedRegex(@"^(?:\d{6}\s+\d+:\d\d:\d\d)?\s+(\d+) ")]
    private static partial Regex ThreadId();
}
