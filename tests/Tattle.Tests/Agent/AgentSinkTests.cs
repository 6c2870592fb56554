using System.Diagnostics.Metrics;
using Tattle.Agent;
using Tattle.Protocols.Http;
using Tattle.Records;

namespace Tattle.Tests.Agent;

/// <summary>Records into the agent's metrics, read back from its meter as an exporter would.</summary>
public sealed class AgentSinkTests
{
    private const int Pid = 100;

    [Fact]
    public void AServersExchanges_CarryTheirConnectionsLocalPort_ThroughOpensAndCloses_ForMoreConnectionsThanTheCacheHolds()
    {
        var selection = new ProcessSelection(new TargetSelector([new AgentTarget { Comm = "nginx" }]), new FakeKernel());
        using var metrics = new AgentMetrics(100_000, () => default);
        var sink = new AgentSink(selection, metrics, spans: null, new ProcessResources("host"));
        var ports = new List<object?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == AgentMetrics.MeterName && instrument.Name == "http.server.request.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            object? port = null;
            foreach (var tag in tags)
            {
                port = tag.Key == "server.port" ? tag.Value : port;
            }
            ports.Add(port);
        });
        listener.Start();
        Assert.True(selection.OnStart(new ProcessStartRecord { TimestampNs = 0, Pid = Pid, ParentPid = 1, Comm = "nginx", Argv = ["nginx"] }));

        // More connections than the agent's cache of recent ones has slots, each on a port of its own, their
        // exchanges interleaved as a busy server's are; the first one's first exchange comes before its open.
        var conns = Enumerable.Range(0, 600).Select(i => $"c{i}").ToArray();
        sink.Write(Exchange(conns[0]));
        Assert.Equal([null], ports);
        foreach (var (conn, i) in conns.Select((c, i) => (c, i)))
        {
            sink.Write(Open(conn, 10_000 + i));
        }
        ports.Clear();
        for (int round = 0; round < 3; round++)
        {
            foreach (var conn in conns)
            {
                sink.Write(Exchange(conn));
            }
        }
        Assert.Equal(Enumerable.Range(0, 3).SelectMany(_ => Enumerable.Range(10_000, conns.Length).Cast<object?>()), ports);

        // A closed connection's port is forgotten: a late record of it names none.
        ports.Clear();
        sink.Write(Close(conns[7]));
        sink.Write(Exchange(conns[7]));
        sink.Write(Exchange(conns[8]));
        Assert.Equal([null, 10_008], ports);
    }

    private static HttpRecord Exchange(string conn) =>
        new(new MessageHeader(1, Pid, "nginx", conn, "server", new Endpoint("127.0.0.1", 40_000)))
        {
            Method = "GET",
            Path = "/",
            Version = "HTTP/1.1",
            Status = 200,
            LatencyMs = 0.1,
        };

    private static ConnHeader Conn(string conn, int port) =>
        new(1, Pid, "nginx", conn, "tcp", "server", 5, new Endpoint("127.0.0.1", port), new Endpoint("127.0.0.1", 40_000));

    private static ConnOpenRecord Open(string conn, int port) => new(Conn(conn, port));

    private static ConnCloseRecord Close(string conn) => new(Conn(conn, 0), 0, 0, 1);
}
