using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Tattle.Protocols.Http1;

namespace Tattle.Tests.Protocols.Http1;

/// <summary>
/// Where a head ends (RFC 9112 sections 2.1–2.2: the first empty line, CRLF or a bare LF), against a byte-by-byte
/// reading of the rule, whole and in pieces that resume where the last search stopped.
/// </summary>
public sealed class HttpHeadEndTests
{
    private static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    /// <summary>The rule read one byte at a time: after the first LF, an LF or a CRLF.</summary>
    private static int Expected(ReadOnlySpan<byte> data)
    {
        for (int k = 0; k + 1 < data.Length; k++)
        {
            if (data[k] != '\n')
            {
                continue;
            }
            if (data[k + 1] == '\n')
            {
                return k + 2;
            }
            if (k + 2 < data.Length && data[k + 1] == '\r' && data[k + 2] == '\n')
            {
                return k + 3;
            }
        }
        return -1;
    }

    /// <summary>Feeds growing prefixes, as a stream buffers a head that arrives in pieces; the length found, or -1.</summary>
    private static int FindInPieces(byte[] data, IEnumerable<int> cuts)
    {
        int scan = 0;
        foreach (int cut in cuts.Append(data.Length))
        {
            var search = HttpHeadParser.FindHeadEnd(data.AsSpan(0, cut), ref scan, out int length);
            Assert.NotEqual(HeadSearch.TooLong, search);
            if (search == HeadSearch.Complete)
            {
                Assert.True(Expected(data.AsSpan(0, cut)) == length, $"{Show(data)} cut at {cut}: found {length}");
                return length;
            }
            Assert.True(Expected(data.AsSpan(0, cut)) < 0, $"{Show(data)} cut at {cut}: not found");
            Assert.InRange(scan, 0, cut);
        }
        return -1;
    }

    private static string Show(byte[] data) => Encoding.Latin1.GetString(data).Replace("\r", "\\r").Replace("\n", "\\n");

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY", 27)]
    [InlineData("GET / HTTP/1.1\nHost: a\n\nBODY", 24)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\n\r\n", 26)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\n", 26)]
    [InlineData("GET / HTTP/1.1\r\nX: \n\n\r\n", 21)] // the bare empty line comes first, right before a CRLF one
    [InlineData("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 26)]
    [InlineData("GET / HTTP/1.1\r\nX: \n\rb\r\n\r\n", 26)] // LF CR then a field: not an empty line
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n", -1)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r", -1)]
    public void EndOfAHead_WholeAndByteByByte(string head, int expected)
    {
        var data = B(head);
        Assert.Equal(expected, Expected(data));
        Assert.Equal(expected, FindInPieces(data, []));
        Assert.Equal(expected, FindInPieces(data, Enumerable.Range(0, data.Length)));
    }

    [Fact]
    public void NginxResponseHead_EndsAtItsEmptyLine()
    {
        var data = B("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 19:10:26 GMT\r\nContent-Type: text/html\r\n" +
            "Content-Length: 612\r\nConnection: keep-alive\r\nETag: \"692f3c79-264\"\r\nAccept-Ranges: bytes\r\n\r\n<!DOCTYPE html>\n\n");
        Assert.Equal(data.Length - 17, FindInPieces(data, []));
        Assert.Equal(data.Length - 17, FindInPieces(data, [1, 60, 160, 189, 190, 191]));
    }

    [Fact]
    public void RandomLineEndSoup_MatchesTheRule_WholeAndInPieces()
    {
        string[] tokens = ["\r", "\n", "\r\n", "a", ":", " "];
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000), Prop.ForAll<int[], int>((picks, seed) =>
        {
            var data = B(string.Concat((picks ?? []).Select(p => tokens[(p & int.MaxValue) % tokens.Length])));
            var random = new Random(seed);
            var cuts = Enumerable.Range(0, data.Length).Where(_ => random.Next(3) == 0).ToArray();
            int expected = Expected(data);
            return FindInPieces(data, []) == expected && FindInPieces(data, cuts) == expected;
        }));
    }

    [Fact]
    public void NoEmptyLineWithin64KiB_IsTooLong()
    {
        var data = B("GET / HTTP/1.1\r\nX: " + new string('a', HttpSyntax.MaxHeadBytes) + "\r\n\r\n");
        int scan = 0;
        Assert.Equal(HeadSearch.TooLong, HttpHeadParser.FindHeadEnd(data, ref scan, out _));
    }
}
