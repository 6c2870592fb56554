using System.Text;
using Tattle.Records;
using Tattle.Tracking;

namespace Tattle.Tests.Tracking;

/// <summary>The method and route of requests counted in the kernel, from the first 96 bytes it keeps of them.</summary>
public sealed class KernelHttpHeadTests
{
    private static (string?, string?) Parse(string wire, int keep = 96)
    {
        var bytes = Encoding.Latin1.GetBytes(wire);
        return KernelHttpHead.MethodAndRoute(bytes.AsSpan(0, Math.Min(keep, bytes.Length)));
    }

    [Theory]
    // curl 7.88's request line and first fields, as the kernel reads them.
    [InlineData("GET /users/1042?expand=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n", "GET", "/users/{id}")]
    [InlineData("POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}", "POST", "/users")]
    // A proxy's absolute form: RFC 9112 section 3.2.2.
    [InlineData("GET http://example.test/a/b?x=1 HTTP/1.1\r\nHost: example.test\r\n\r\n", "GET", "/a/b")]
    [InlineData("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "OPTIONS", "*")]
    public void RequestLine_GivesMethodAndRoute(string wire, string method, string route) =>
        Assert.Equal((method, route), Parse(wire));

    [Fact]
    public void PathCutByTheHeadsEnd_EndsInAnEllipsis()
    {
        string path = "/static/" + new string('a', 120) + ".js";
        var (method, route) = Parse($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal("GET", method);
        Assert.Equal(path[..(96 - 4)] + KernelHttpHead.Cut, route);
    }

    [Fact]
    public void CutInsideTheQuery_LeavesTheRouteWhole()
    {
        var (_, route) = Parse("GET /search?q=" + new string('z', 200) + " HTTP/1.1\r\n\r\n");
        Assert.Equal("/search", route);
    }

    [Theory]
    [InlineData("")]
    [InlineData("GET")]
    [InlineData(" /x HTTP/1.1\r\n")]
    public void NoMethodAndSpace_IsNoRequest(string wire) => Assert.Equal((null, null), Parse(wire));

    [Fact]
    public void CountedRequests_FillTheRouteTableAsParsedOnesDo()
    {
        var row = new SummaryRow { Pid = 1, Comm = "nginx", Proto = "tcp", Role = "server", Endpoint = new Endpoint("127.0.0.1", 80) };
        var table = new RouteTable();
        table.AddCounted(row, "http", "GET", "/users/{id}", [200, 200, 404, 0], [100, 300, 200, 0], 400, 2000);
        table.AddCounted(row, "http", "GET", "/users/{id}", [500], [1000], 100, 50);
        var r = Assert.Single(table.Rows());
        Assert.Equal((5L, 1L, 500L, 2050L), (r.Requests, r.Unanswered, r.RequestBytes, r.ResponseBytes));
        Assert.Equal((2L, 1L, 1L), (r.Statuses["2xx"], r.Statuses["4xx"], r.Statuses["5xx"]));
        Assert.Equal(1.0, r.MaxMs);
        Assert.Equal(0.2, r.P50Ms!.Value, 0.01);
    }
}
