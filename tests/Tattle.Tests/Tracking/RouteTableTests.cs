using Tattle.Protocols.Http;
using Tattle.Records;
using Tattle.Tracking;

namespace Tattle.Tests.Tracking;

public sealed class RouteTableTests
{
    private static readonly SummaryRow Row = new()
    {
        Pid = 10,
        Comm = "nginx",
        Proto = "tcp",
        Role = "server",
        Endpoint = new Endpoint("127.0.0.1", 8080),
    };

    private static HttpRecord Http(string method, string path, int? status, double? latencyMs) => new()
    {
        TimestampNs = 1,
        Pid = 10,
        Comm = "nginx",
        Conn = "c1",
        Role = "server",
        Method = method,
        Path = path,
        Status = status,
        LatencyMs = latencyMs,
        ReqBytes = 100,
        RespBytes = status is null ? null : 700,
    };

    [Fact]
    public void Requests_CountPerOperationAndRoute_WithStatusClassesBytesAndPercentiles()
    {
        var table = new RouteTable();
        for (int i = 1; i <= 100; i++)
        {
            table.Add(Row, Http("GET", $"/users/{i}?full=1", i <= 90 ? 200 : 404, i));
        }
        table.Add(Row, Http("POST", "/users", 201, 5));
        table.Add(Row, Http("GET", "/users/7", null, null)); // no response yet
        // A response whose request came before tracing: counted, with its status, neither timed nor unanswered.
        table.Add(Row, Http("GET", "/users/8", 200, null) with { Method = null });

        var rows = table.Rows();
        Assert.Equal(3, rows.Count);
        var unseen = Assert.Single(rows, r => r.Operation is null);
        Assert.Equal((1L, 0L, 1L), (unseen.Requests, unseen.Unanswered, unseen.Statuses["2xx"]));
        var get = rows[0];
        Assert.Equal(("http", "GET", "/users/{id}"), (get.Protocol, get.Operation, get.Route));
        Assert.Equal(101, get.Requests);
        Assert.Equal(1, get.Unanswered);
        Assert.Equal(90, get.Statuses["2xx"]);
        Assert.Equal(10, get.Statuses["4xx"]);
        Assert.Equal(101 * 100, get.RequestBytes);
        Assert.Equal(100 * 700, get.ResponseBytes);
        Assert.Equal(50, get.P50Ms!.Value, 0.5);
        Assert.Equal(90, get.P90Ms!.Value, 0.5);
        Assert.Equal(99, get.P99Ms!.Value, 0.5);
        Assert.Equal(100, get.MaxMs);
        Assert.Equal(("POST", "/users", 1L), (rows[1].Operation, rows[1].Route, rows[1].Requests));
        Assert.Equal(0, table.Folded);
    }

    [Fact]
    public void PastTheCap_RequestsGoToOther_AndAreCounted()
    {
        var table = new RouteTable();
        for (int i = 0; i < RouteTable.MaxRoutesPerRow + 50; i++)
        {
            table.Add(Row, Http("GET", $"/page-{i}", 200, 1));
        }
        var rows = table.Rows();
        Assert.Equal(RouteTable.MaxRoutesPerRow + 1, rows.Count);
        Assert.Equal(50, rows.Single(r => r.Route == RouteTable.Other).Requests);
        Assert.Equal(50, table.Folded);
        Assert.Equal(RouteTable.MaxRoutesPerRow + 50, rows.Sum(r => r.Requests));
    }
}
