using System.Text;
using Tattle.Protocols.Http1;

namespace Tattle.Tests.Protocols.Http1;

/// <summary>The request line and Host of a head's first 96 bytes, as the kernel keeps them (--http-in-kernel).</summary>
public sealed class RequestHeadPrefixTests
{
    private static RequestHeadFields? Parse(string wire, int keep = 96, bool redact = true)
    {
        // The kernel's buffer is zeroed past what it read.
        var bytes = new byte[keep];
        Encoding.Latin1.GetBytes(wire.AsSpan(0, Math.Min(keep, wire.Length)), bytes);
        return RequestHeadPrefix.Parse(bytes, redact);
    }

    [Fact]
    public void CurlsHead_GivesItsRequestLineAndHost()
    {
        // curl 7.88's request as it left the socket.
        var head = Parse("GET /users/1042?expand=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n");
        Assert.Equal(new RequestHeadFields("GET", "/users/1042?expand=1", "HTTP/1.1", "127.0.0.1:8080"), head);
    }

    [Fact]
    public void HostAfterOtherFields_IsFound_AnyCase()
    {
        // Python's http.client with a header set before Host is written (skip_host, then putheader).
        var head = Parse("POST /v1/items HTTP/1.0\r\nContent-Length: 2\r\nhost:  api.test \r\n\r\n{}");
        Assert.Equal(new RequestHeadFields("POST", "/v1/items", "HTTP/1.0", "api.test"), head);
    }

    [Fact]
    public void HostLineCutByTheBytesEnd_IsLeftOut()
    {
        string wire = "GET /" + new string('a', 70) + " HTTP/1.1\r\nHost: a-rather-long-host-name.example\r\n\r\n";
        var head = Parse(wire);
        Assert.NotNull(head);
        Assert.Equal(("/" + new string('a', 70), "HTTP/1.1", (string?)null), (head.Target, head.Version, head.Host));
    }

    [Fact]
    public void TargetCutByTheBytesEnd_EndsInAnEllipsis_WithNoVersion()
    {
        string path = "/static/" + new string('a', 120) + ".js";
        var head = Parse($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.NotNull(head);
        Assert.Equal((path[..(96 - 4)] + RequestHeadPrefix.Cut, (string?)null, (string?)null), (head.Target, head.Version, head.Host));
    }

    [Fact]
    public void SecretQueryValues_AreRedacted_UnlessAskedNotTo()
    {
        const string wire = "GET /cb?code=1&access_token=abc123 HTTP/1.1\r\nHost: x\r\n\r\n";
        Assert.Equal("/cb?code=1&access_token=REDACTED", Parse(wire)!.Target);
        Assert.Equal("/cb?code=1&access_token=abc123", Parse(wire, redact: false)!.Target);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\n")] // a response, not a request
    [InlineData(" GET / HTTP/1.1\r\n")]
    [InlineData("")]
    public void BytesThatDoNotBeginWithAMethod_GiveNothing(string wire) => Assert.Null(Parse(wire));
}
