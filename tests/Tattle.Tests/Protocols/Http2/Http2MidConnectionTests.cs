using Tattle.Protocols.Common;
using Tattle.Protocols.Http;
using Tattle.Protocols.Http1;
using Tattle.Protocols.Http2;

namespace Tattle.Tests.Protocols.Http2;

/// <summary>
/// Tracing that begins mid-connection: the HPACK tables hold entries the parser never saw. What it reports must
/// be what the whole connection says, fields that named unseen entries left out and the stream marked.
/// </summary>
public sealed class Http2MidConnectionTests(ITestOutputHelper output)
{
    /// <summary>Byte offsets of each direction after the first <paramref name="recvs"/> recvs of the recording.</summary>
    private static int[] After(Http2Capture capture, int recvs)
    {
        int[] from = capture.Http1Bytes();
        foreach (var (kind, length) in capture.Recording.Recvs.Take(recvs))
        {
            from[(int)kind] += length;
        }
        return from;
    }

    private static List<Http2Exchange> MidConnection(Http2Capture capture, int[] from) =>
        [.. capture.Replay(from: from, start: new Http2Start(AtConnectionStart: false)).Messages.OfType<Http2Exchange>()];

    [Fact]
    public void LaterRequestsAreReportedWithTheFieldsTheStaticTableGives()
    {
        var capture = Http2Capture.Load("h2load");
        // After recv 2 (8 requests and their responses' heads): streams 17 to 39 follow.
        var x = MidConnection(capture, After(capture, 2));
        foreach (var e in x)
        {
            output.WriteLine(Http2Capture.Summary(e));
        }
        var later = x.Where(e => e.StreamId >= 17).ToList();
        Assert.Equal(Enumerable.Range(8, 12).Select(i => (2 * i) + 1), later.Select(e => e.StreamId));
        Assert.All(later, e =>
        {
            // :method GET and :status 200 are static entries, nghttp2 never indexes :path; :authority and
            // user-agent were added to the table before the cut.
            Assert.Equal(("GET", "/b.txt", 200, true, false), (e.Method, e.Path, e.Status!.Value, e.HeadersIncomplete, e.Truncated));
            Assert.Null(e.Authority);
            Assert.DoesNotContain(e.RequestHeaders, h => h.Name == "user-agent");
            Assert.Equal("file b, a little longer\n", System.Text.Encoding.ASCII.GetString(e.ResponseBody.Span));
        });
    }

    [Theory]
    [InlineData("h2load")]
    [InlineData("nghttp_concurrent")]
    [InlineData("grpc_streaming")]
    [InlineData("grpc_unary")]
    [InlineData("node")]
    public void NoFieldIsEverWrong(string name)
    {
        var capture = Http2Capture.Load(name);
        var whole = capture.Replay().Messages.OfType<Http2Exchange>().ToDictionary(e => e.StreamId);
        for (int recvs = 1; recvs < capture.Recording.Recvs.Count; recvs++)
        {
            foreach (var e in MidConnection(capture, After(capture, recvs)))
            {
                if (!whole.TryGetValue(e.StreamId, out var w))
                {
                    continue;
                }
                string what = $"{name} after {recvs} recvs: {Http2Capture.Summary(e)}";
                AssertKnownEqual(e.Method, w.Method, what);
                AssertKnownEqual(e.Path, w.Path, what);
                AssertKnownEqual(e.Authority, w.Authority, what);
                AssertKnownEqual(e.Scheme, w.Scheme, what);
                AssertKnownEqual(e.Status, w.Status, what);
                AssertSubsequence(e.RequestHeaders, w.RequestHeaders, what);
                AssertSubsequence(e.ResponseHeaders, w.ResponseHeaders, what);
                AssertSubsequence(e.Trailers, w.Trailers, what);
                if (!e.HeadersIncomplete && e.Grpc is { StatusCode: { } code })
                {
                    Assert.Equal(w.Grpc!.StatusCode, code);
                }
            }
        }
    }

    private static void AssertKnownEqual<T>(T seen, T truth, string what)
    {
        if (seen is not null)
        {
            Assert.True(EqualityComparer<T>.Default.Equals(seen, truth), what);
        }
    }

    /// <summary>Every field reported is one the whole connection has, in the same order: some may be missing.</summary>
    private static void AssertSubsequence(IReadOnlyList<HttpHeader> seen, IReadOnlyList<HttpHeader> truth, string what)
    {
        int at = 0;
        foreach (var field in seen)
        {
            while (at < truth.Count && truth[at] != field)
            {
                at++;
            }
            Assert.True(at < truth.Count, $"{field} is not in the whole connection's fields: {what}");
            at++;
        }
    }
}
