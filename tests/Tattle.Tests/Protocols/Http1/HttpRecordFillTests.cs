using Tattle.Protocols.Common;
using Tattle.Protocols.Http;
using Tattle.Protocols.Http1;
using Tattle.Protocols.Http2;
using Tattle.Records;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Http1;

/// <summary>An HTTP/1 exchange's record, made new or refilled from the connection's last one.</summary>
public sealed class HttpRecordFillTests
{
    [Fact]
    public void ARefilledRecord_EqualsANewOne_EvenWhenTheLastRecordWasAnHttp2Streams()
    {
        // The spare carries every field an HTTP/1 exchange never sets (an h2c connection's last HTTP/2 stream, a
        // kernel-read record): refilled, it must read as a record made new for this exchange.
        var spare = new HttpRecord
        {
            TimestampNs = 1,
            Pid = 9,
            Comm = "old",
            Conn = "c9",
            Role = "server",
            LatencyMs = 5,
            Tls = true,
            Sni = "old.example",
            TlsSession = "0x1",
            Method = "POST",
            Path = "/old",
            Host = "old",
            Version = "2",
            Status = 503,
            ReqBytes = 1,
            RespBytes = 2,
            ReqHeaders = [new("A", "b")],
            RespHeaders = [new("C", "d")],
            ReqBody = new byte[] { 1 },
            RespBody = new byte[] { 2 },
            ReqContentEncoding = "gzip",
            RespContentEncoding = "br",
            Upgrade = "h2c",
            Interim = [100],
            UnseenBytes = 7,
            Trailers = [new("E", "f")],
            Truncated = true,
            Stream = 3,
            Error = new Http2StreamError("RST_STREAM", 8, "CANCEL", "client"),
            HeadersIncomplete = true,
            PromisedBy = 1,
            InKernel = true,
        };
        var exchange = new HttpExchange
        {
            StartNs = 1_000_000,
            EndNs = 3_500_000,
            Request = new HttpRequest { Method = "GET", Target = "/a", Host = "h", Version = "HTTP/1.1", HeadBytes = 30, Headers = [new("Host", "h")] },
            Response = new HttpResponse { Status = 200, Version = "HTTP/1.1", HeadBytes = 40, BodyBytes = 2, Headers = [new("Content-Length", "2")] },
        };

        var r = RecordRefill.AssertEqualsNew<HttpRecord>(exchange, spare);
        Assert.Equal(("GET", "/a", 200, 2.5, 42L), (r.Method, r.Path, r.Status, r.LatencyMs, r.RespBytes));
        Assert.Equal((false, null, null, null, false), (r.InKernel, r.Stream, r.Grpc, r.Error, r.Truncated));
    }

    [Fact]
    public void ARecordOfAnotherType_IsNotRefilled()
    {
        var spare = new OtherRecord { TimestampNs = 1, Pid = 1, Comm = "c", Conn = "c1", Role = "client" };
        var exchange = new HttpExchange { StartNs = 1, EndNs = 2, Request = new HttpRequest { Method = "GET", Target = "/" } };

        Assert.IsType<HttpRecord>(exchange.ToRecord(new FixedMessageContext(spare: spare)));
    }

    private sealed record OtherRecord : MessageRecord
    {
        public override string Type => "test";

        public override void WriteFields(System.Text.Json.Utf8JsonWriter w)
        {
        }

        public override void Describe(Tattle.Records.Live.LiveLine line)
        {
        }
    }
}
