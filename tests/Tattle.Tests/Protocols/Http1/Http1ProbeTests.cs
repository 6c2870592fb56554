using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;

namespace Tattle.Tests.Protocols.Http1;

/// <summary>Recognising HTTP/1 from a direction's first bytes, and finding where a message starts again.</summary>
public sealed class Http1ProbeTests
{
    private static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    [Theory]
    [InlineData("GET ", Detection.NeedMoreData)]
    [InlineData("GET / HTTP/1.1", Detection.NeedMoreData)]
    [InlineData("GET /index.html HTTP/1.1\n", Detection.Request)]
    [InlineData("GET /index.html HTTP/1.1\r\n", Detection.Request)]
    [InlineData("OPTIONS * HTTP/1.1\r\n", Detection.Request)]
    [InlineData("CONNECT example.com:443 HTTP/1.1\r\n", Detection.Request)]
    [InlineData("PROPFIND /dav HTTP/1.1\r\n", Detection.Request)]
    [InlineData("M-SEARCH * HTTP/1.", Detection.NeedMoreData)]
    [InlineData("M-SEARCH * HTTP/1.1\r\n", Detection.Request)]
    [InlineData("HTTP/1.1 200 OK\r\n", Detection.Response)]
    [InlineData("HTTP/1.0 404", Detection.Response)]
    [InlineData("HTTP/1.0 ", Detection.NeedMoreData)]
    [InlineData("HTTP/1.0 20", Detection.NeedMoreData)]
    [InlineData("HTTP/1.1 OK\r\n", Detection.No)]
    [InlineData("HTTP/1.2 200 OK\r\n", Detection.No)]
    [InlineData("", Detection.NeedMoreData)]
    [InlineData("G", Detection.NeedMoreData)]
    [InlineData("DELE", Detection.NeedMoreData)]
    [InlineData("HTTP/1", Detection.NeedMoreData)]
    [InlineData("HTTP/1.1", Detection.NeedMoreData)]
    [InlineData("PROPFIND /dav", Detection.NeedMoreData)]
    [InlineData("PROPFIND /dav HT", Detection.NeedMoreData)]
    [InlineData("HTTP/2 200\r\n", Detection.No)]
    [InlineData("HTTP/1.1200", Detection.No)]
    [InlineData("PRI * HTTP/2.0\r\n", Detection.No)]
    [InlineData("get / HTTP/1.1\r\n", Detection.Request)]
    [InlineData("hello world\r\n", Detection.No)]
    [InlineData("GET foo\r\n", Detection.No)]
    [InlineData("SET foo bar\r\n", Detection.No)]
    [InlineData("PING\r\n", Detection.No)]
    [InlineData("GET /index.html\r\n", Detection.No)]
    [InlineData("GET / HTTP/1.1 extra\r\n", Detection.No)]
    [InlineData("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", Detection.No)]
    [InlineData("\x16\x03\x01\x02\x00", Detection.No)]
    [InlineData("{\"json\": 1}", Detection.No)]
    [InlineData(" GET / HTTP/1.1", Detection.No)]
    public void Probe(string bytes, Detection expected) =>
        Assert.Equal(expected, Http1Protocol.Probe(B(bytes), datagram: false, localPort: 0, remotePort: 0));

    /// <summary>A request line that arrives in two reads is waited for, then claimed.</summary>
    [Fact]
    public void ProbeWaitsForARequestLineSplitAcrossReads()
    {
        byte[] line = B("GET /split HTTP/1.1\r\nHost: x\r\n\r\n");
        for (int cut = 1; cut < 20; cut++)
        {
            Assert.Equal(Detection.NeedMoreData, Http1Protocol.Probe(line.AsSpan(0, cut), false, 0, 0));
        }
        Assert.Equal(Detection.Request, Http1Protocol.Probe(line, false, 0, 0));
    }

    [Fact]
    public void ProbeGivesUpOnAnEndlessTargetOfARegisteredMethod() =>
        Assert.Equal(Detection.No, Http1Protocol.Probe(B("GET /" + new string('a', 70_000)), false, 0, 0));

    [Fact]
    public void ProbeIgnoresPortsAndRefusesDatagrams()
    {
        Assert.Equal(Detection.Request, Http1Protocol.Probe(B("GET / HTTP/1.1\r\n"), false, 53, 5353));
        Assert.Equal(Detection.No, Http1Protocol.Probe(B("GET / HTTP/1.1\r\n"), true, 80, 80));
        Assert.Equal("http", Http1Protocol.Info.Name);
    }

    [Fact]
    public void ProbeGivesUpOnAnEndlessUnknownMethod()
    {
        Assert.Equal(Detection.No, Http1Protocol.Probe(B(new string('A', 21)), false, 0, 0));
        Assert.Equal(Detection.No, Http1Protocol.Probe(B("X /" + new string('a', 9000)), false, 0, 0));
    }

    [Theory]
    [InlineData(MessageKind.Request, "GET / HTTP/1.1\r\n", 0)]
    [InlineData(MessageKind.Request, "tail of a body\r\nGET / HTTP/1.1\r\n", 16)]
    [InlineData(MessageKind.Request, "xx\nPATCH /p HTTP/1.1\r\n", 3)]
    [InlineData(MessageKind.Request, "body\r\nPURGE /p HTTP/1.1\r\n", 6)]
    [InlineData(MessageKind.Request, "garbage\r\nmore garbage\r\n", -1)]
    [InlineData(MessageKind.Request, "Host: x\r\nAccept: */*\r\n\r\n", -1)]
    [InlineData(MessageKind.Request, "x GET / HTTP/1.1\r\n", -1)]
    [InlineData(MessageKind.Request, "abc\r\nPO", 5)]
    [InlineData(MessageKind.Request, "abc\r\nGET foo\r\n", -1)]
    [InlineData(MessageKind.Request, "HTTP/1.1 200 OK\r\n", -1)]
    [InlineData(MessageKind.Response, "ok\r\nHTTP/1.1 200 OK\r\n", 4)]
    [InlineData(MessageKind.Response, "xxHTTP/1.1 200 OK\r\n", -1)]
    [InlineData(MessageKind.Response, "GET / HTTP/1.1\r\n", -1)]
    [InlineData(MessageKind.Response, "\r\nHTT", 2)]
    [InlineData(MessageKind.Response, "", -1)]
    public void FindFrameBoundary(MessageKind kind, string bytes, int expected)
    {
        var parser = Http1Protocol.Info.Create(ParserOptions.Default, new Support.StreamFeeder.CollectingSink());
        Assert.Equal(expected, parser.FindFrameBoundary(kind, B(bytes)));
    }
}
