using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;
using Tattle.Protocols.Postgres;
using Tattle.Protocols.Redis;
using Tattle.Records;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Agent;

/// <summary>Records of real captured connections described as exchanges: what the agent's spans and metrics get.</summary>
public sealed class ExchangeTests
{
    private static List<Collected> Exchanges(string folder, string name, ProtocolInfo protocol, string role = "client") =>
        [.. RecordedConnection.Load(folder, name).Replay(protocol).Messages
            .Select(m => m.ToRecord(new FixedMessageContext(role: role)))
            .Where(r => r is MessageRecord)
            .Select(r =>
            {
                var c = new Collected();
                c.Is = ((MessageRecord)r).WriteExchange(c);
                return c;
            })];

    [Fact]
    public void Http_KeepAliveRequests_AreHttpExchangesWithMethodStatusPathAndVersion()
    {
        var all = Exchanges("http1", "keepalive", Http1Protocol.Info);
        Assert.NotEmpty(all);
        Assert.All(all, x =>
        {
            Assert.True(x.Is);
            Assert.Equal((ExchangeKind.Http, "http"), (x.Kind, x.Protocol));
            Assert.Equal(x.Attributes["http.request.method"], x.SpanName);
            Assert.Equal("1.1", x.Attributes["network.protocol.version"]);
            Assert.DoesNotContain('?', (string)x.Attributes["url.path"]);
            long status = (long)x.Attributes["http.response.status_code"];
            Assert.Equal($"{status / 100}xx", x.StatusClass);
        });
    }

    [Fact]
    public void Http_AClients404IsAnError_AServersIsNot()
    {
        var client = Exchanges("http1", "pipelined", Http1Protocol.Info).Where(x => x.Attributes.TryGetValue("http.response.status_code", out var s) && (long)s == 404).ToList();
        Assert.NotEmpty(client);
        Assert.All(client, x => Assert.Equal(("4xx", "404"), (x.StatusClass, x.ErrorType)));
        var server = Exchanges("http1", "pipelined", Http1Protocol.Info, role: "server").Where(x => x.StatusClass == "4xx").ToList();
        Assert.NotEmpty(server);
        Assert.All(server, x => Assert.Null(x.ErrorType));
    }

    [Fact]
    public void Postgres_StatementsAreDatabaseOperations_AndAnErrorCarriesItsSqlstate()
    {
        var ok = Exchanges("postgres", "select1", PostgresProtocol.Info);
        Assert.Contains(ok, x => x.Kind == ExchangeKind.Database && (string)x.Attributes["db.system.name"] == "postgresql"
            && x.SpanName == "SELECT" && x.StatusClass == "ok");
        var failed = Exchanges("postgres", "error", PostgresProtocol.Info).Where(x => x.StatusClass == "error").ToList();
        Assert.NotEmpty(failed);
        Assert.All(failed, x => Assert.Matches("^[0-9A-Z]{5}$", x.ErrorType!));
        // The statement's text never reaches telemetry: literals may be secrets.
        Assert.All(ok.Concat(failed), x => Assert.DoesNotContain("db.query.text", x.Attributes.Keys));
    }

    [Fact]
    public void Redis_CommandsAreDatabaseOperations_AndAnErrorIsItsKind()
    {
        var all = Exchanges("redis", "multi", RedisProtocol.Info);
        Assert.NotEmpty(all);
        Assert.All(all.Where(x => x.Is), x =>
        {
            Assert.Equal("redis", x.Attributes["db.system.name"]);
            Assert.Equal(x.SpanName, x.Attributes["db.operation.name"]);
            Assert.DoesNotContain(' ', x.ErrorType ?? "");
        });
    }

    private sealed class Collected : IExchangeWriter
    {
        public bool Is { get; set; }

        public ExchangeKind Kind { get; private set; }

        public string Protocol { get; private set; } = "";

        public string SpanName { get; private set; } = "";

        public string StatusClass { get; private set; } = "";

        public string? ErrorType { get; private set; }

        public Dictionary<string, object> Attributes { get; } = [];

        public void Describe(ExchangeKind kind, string protocol, string spanName) => (Kind, Protocol, SpanName) = (kind, protocol, spanName);

        public void Outcome(string statusClass, string? errorType) => (StatusClass, ErrorType) = (statusClass, errorType);

        public void Attribute(string key, string value) => Attributes[key] = value;

        public void Attribute(string key, long value) => Attributes[key] = value;
    }
}
