using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.MySql;
using Tattle.Protocols.Sql;
using Tattle.Protocols.Tls;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.MySql;

/// <summary>
/// Real connections (the mariadb client, mariadb-admin and MySqlConnector against MariaDB 10.11; see
/// testdata/mysql/capture.py) replayed through the parser.
/// </summary>
public sealed class MySqlCaptureTests(ITestOutputHelper output)
{
    private static readonly string[] All = ["select1", "error", "syntax", "script", "big_rows", "ping", "bad_password", "old_eof", "connector"];

    private static RecordedConnection Load(string name) => RecordedConnection.Load("mysql", name);

    private List<MySqlExchange> Run(string name, Random? random = null)
    {
        var feeder = Load(name).Replay(MySqlProtocol.Info, null, random);
        Assert.Equal(0, feeder.Dropped(MessageKind.Request));
        Assert.Equal(0, feeder.Dropped(MessageKind.Response));
        var messages = feeder.Messages.Cast<MySqlExchange>().ToList();
        if (random is null)
        {
            foreach (var m in messages)
            {
                output.WriteLine(Summary(m));
            }
        }
        return messages;
    }

    private static string Summary(MySqlExchange m) =>
        $"{m.Command}|{m.Query}|{m.Tag}|{m.Rows}|{m.Params}|{m.Error?.Number} {m.Error?.Code} {m.Error?.Message}|{m.Database}|{m.User}|{m.Application}|{m.Answered}|{m.Compressed}";

    [Fact]
    public void SelectOneGivesItsRowAndTheLogin()
    {
        var x = Assert.Single(Run("select1"), m => m.Query == "select 1");
        Assert.Equal((1L, (string?)null, true), (x.Rows, x.Tag, x.Answered));
        Assert.Equal(("tattle", "mysql"), (x.User, x.Application));
        Assert.StartsWith("10.11", x.Server);
        Assert.Null(x.Error);
        Assert.True(x.EndNs > x.StartNs);
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void RandomSplitsGiveTheSameMessages(string name)
    {
        string whole = string.Join("\n", Run(name).Select(Summary));
        Assert.NotEmpty(whole);
        for (int seed = 0; seed < 20; seed++)
        {
            Assert.Equal(whole, string.Join("\n", Run(name, new Random(seed)).Select(Summary)));
        }
    }

    public static TheoryData<string> Captures() => [.. All];
}
