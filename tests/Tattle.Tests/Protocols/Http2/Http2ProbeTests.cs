using Tattle.Protocols.Common;
using Tattle.Protocols.Http2;
using Tattle.Tests.Protocols.Support;
using static Tattle.Tests.Protocols.Http2.Http2Wire;

namespace Tattle.Tests.Protocols.Http2;

/// <summary>Recognising HTTP/2 from a direction's first bytes, and finding a frame again after lost bytes.</summary>
public sealed class Http2ProbeTests
{
    private static Detection Probe(ReadOnlySpan<byte> data) => Http2Protocol.Probe(data, datagram: false, 0, 0);

    [Fact]
    public void ThePrefaceMeansRequestsAndItsPrefixesWait()
    {
        byte[] preface = [.. Preface, .. Settings()];
        Assert.Equal(Detection.Request, Probe(preface));
        Assert.Equal(Detection.Request, Probe(Preface));
        for (int n = 0; n < Preface.Length; n++)
        {
            Assert.Equal(Detection.NeedMoreData, Probe(preface.AsSpan(0, n)));
        }
        Assert.Equal(Detection.No, Http2Protocol.Probe(preface, datagram: true, 0, 0));
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void EachCapturesDirectionsAreRecognised(string name)
    {
        var capture = Http2Capture.Load(name);
        int[] from = capture.Http1Bytes();
        byte[] client = capture.Recording.Requests[from[0]..];
        byte[] server = capture.Recording.Responses[from[1]..];
        Assert.Equal(Detection.Request, Probe(client));
        Assert.Equal(Detection.Response, Probe(server));
        // A server's SETTINGS is claimed once whole, not before.
        int settings = FrameHeader.Size + FrameHeader.Read(server).Length;
        for (int n = 0; n < settings; n++)
        {
            Assert.Equal(Detection.NeedMoreData, Probe(server.AsSpan(0, n)));
        }
    }

    [Fact]
    public void MidConnectionTwoFramesThatTellTheirDirectionAreClaimed()
    {
        byte[] requests = [.. Headers(7, Request("/a"), endStream: true), .. WindowUpdate(0, 100)];
        byte[] responses = [.. Headers(7, Response(200), endStream: false), .. Data(7, "x", endStream: true)];
        Assert.Equal(Detection.Request, Probe(requests));
        Assert.Equal(Detection.Response, Probe(responses));
        // One frame is not enough, nor a frame cut short.
        Assert.Equal(Detection.NeedMoreData, Probe(requests.AsSpan(0, requests.Length - 13)));
        Assert.Equal(Detection.NeedMoreData, Probe(requests.AsSpan(0, requests.Length - 1)));
        // DATA and WINDOW_UPDATE alone say nothing of their direction: not claimed.
        byte[] untold = [.. Enumerable.Range(0, 8).SelectMany(i => Data(1 + (2 * i), "abc", false))];
        Assert.Equal(Detection.No, Probe(untold));
        // A HEADERS block whose first field is a request's, then one a response's: not one direction.
        Assert.Equal(Detection.No, Probe([.. Headers(1, Block(Indexed(2)), true), .. Headers(3, Block(Indexed(8)), true)]));
    }

    [Fact]
    public void MidConnectionCapturesAreClaimedFromTheirFirstHeaders()
    {
        // h2load's connection after its prefaces and SETTINGS: the requests' HEADERS, the responses' HEADERS.
        var capture = Http2Capture.Load("h2load").Recording;
        Assert.Equal(Detection.Request, Probe(capture.Requests[(Preface.Length + 21 + 13)..]));
        Assert.Equal(Detection.Response, Probe(capture.Responses[(15 + 9)..]));
    }

    /// <summary>
    /// The false-positive risk of the probe, measured on what it will meet most: HTTP/1, TLS and DNS, each
    /// direction, and every prefix of the first 64 bytes (detection runs as bytes arrive).
    /// </summary>
    [Theory]
    [MemberData(nameof(OtherProtocols))]
    public void OtherProtocolsAreNotClaimed(string folder, string file)
    {
        byte[] bytes = CapturedBytes.Read(folder, file);
        Assert.Equal(Detection.No, Probe(bytes));
        for (int n = 1; n <= Math.Min(64, bytes.Length); n++)
        {
            Assert.NotEqual(Detection.Request, Probe(bytes.AsSpan(0, n)));
            Assert.NotEqual(Detection.Response, Probe(bytes.AsSpan(0, n)));
        }
    }

    [Fact]
    public void FindFrameBoundarySkipsToTheNextPlausibleFrame()
    {
        var parser = Http2Protocol.Create(ParserOptions.Default, new StreamFeeder.CollectingSink(), null);
        byte[] frames = [.. Data(1, "some payload here", false), .. Headers(3, Request("/x"), true), .. Ping()];
        // From inside the first frame, the next boundary is the HEADERS frame's.
        int headers = Data(1, "some payload here", false).Length;
        Assert.Equal(headers - 3, parser.FindFrameBoundary(MessageKind.Request, frames.AsSpan(3)));
        Assert.Equal(0, parser.FindFrameBoundary(MessageKind.Request, frames));
        Assert.Equal(-1, parser.FindFrameBoundary(MessageKind.Request, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8));
        // The preface is a boundary on the client side.
        Assert.Equal(4, parser.FindFrameBoundary(MessageKind.Request, [0xff, 0xff, 0xff, 0xff, .. Preface]));
    }

    public static TheoryData<string> Captures() => [.. Http2Capture.All];

    public static TheoryData<string, string> OtherProtocols()
    {
        var data = new TheoryData<string, string>();
        foreach (string folder in new[] { "http1", "tls", "dns" })
        {
            foreach (string path in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "testdata", folder)))
            {
                string file = Path.GetFileName(path);
                if (file.EndsWith(".c2s", StringComparison.Ordinal) || file.EndsWith(".s2c", StringComparison.Ordinal)
                    || file.EndsWith(".bin", StringComparison.Ordinal))
                {
                    data.Add(folder, file);
                }
            }
        }
        return data;
    }
}
