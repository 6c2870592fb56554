using FsCheck;
using FsCheck.Fluent;
using Tattle.Capture.Probes;

namespace Tattle.Tests.Capture.Probes;

public class CallSignatureTests
{
    /// <summary>
    /// A signature as "TYPE[ NAME][ len=N], … -> TYPE" (N: the argument holding the length, 7 for the result), so
    /// a table row reads as what was parsed rather than as the text again.
    /// </summary>
    internal static string Describe(CallSignature s) =>
        string.Join(", ", s.Arguments.Select(a => a.Type + (a.Name is null ? "" : " " + a.Name) + (a.LengthFrom == 0 ? "" : $" len={a.LengthFrom}")))
        + " -> " + s.Return;

    [Theory]
    [InlineData("(str node, str service, ptr hints, ptr res) -> int", "Str node, Str service, Ptr hints, Ptr res -> Int")]
    [InlineData("(ptr, buf:len=arg3 data, size, int) -> int", "Ptr, Buf data len=3, ULong, Int -> Int")]
    [InlineData("(int fd, buf:len=ret data, size len, int flags) -> ssize", "Int fd, Buf data len=7, ULong len, Int flags -> Long")]
    [InlineData("(int fd, sockaddr:len=arg3 addr, uint addrlen) -> int", "Int fd, SockAddr addr len=3, UInt addrlen -> Int")]
    [InlineData("(buf:len=arg2, long)", "Buf len=2, Long -> Long")]
    [InlineData("(uint, ulong, long, ssize, size, bool ok) -> bool", "UInt, ULong, Long, Long, ULong, Bool ok -> Bool")]
    [InlineData("(ptr res) -> void", "Ptr res -> Void")]
    [InlineData("(str name) -> ptr", "Str name -> Ptr")]
    [InlineData("()", " -> Long")]
    [InlineData("(void) -> int", " -> Int")]
    [InlineData("  ( int  a ,str b )->uint  ", "Int a, Str b -> UInt")]
    [InlineData("(int, int, int, int, int, buf:len=arg1)", "Int, Int, Int, Int, Int, Buf len=1 -> Long")]
    [InlineData("(buf:len=arg2 a, ulong n, buf:len=ret b) -> long", "Buf a len=2, ULong n, Buf b len=7 -> Long")]
    public void Parses(string text, string expected)
    {
        var signature = CallSignature.Parse(text, out string error);
        Assert.True(signature is not null, error);
        Assert.Equal("", error);
        Assert.Equal(expected, Describe(signature));
    }

    [Theory]
    [InlineData("(str node, str service, ptr hints, ptr res) -> int")]
    [InlineData("(ptr, buf:len=arg3 data, size, int) -> int")]
    [InlineData("(int fd, buf:len=ret data, size len, int flags) -> ssize")]
    [InlineData("(int fd, sockaddr:len=arg3 addr, uint addrlen) -> int")]
    [InlineData("(uint, ulong, long, ssize, size, bool ok) -> bool")]
    [InlineData("(ptr res) -> void")]
    [InlineData("()")]
    public void ToString_ParsesBackToTheSameSignature(string text)
    {
        var signature = CallSignature.Parse(text, out _)!;
        string written = signature.ToString();
        var again = CallSignature.Parse(written, out string error);
        Assert.True(again is not null, $"{written}: {error}");
        Assert.Equal(Describe(signature), Describe(again));
        Assert.Equal(written, again.ToString());
    }

    [Fact]
    public void ToString_WritesTheCanonicalNames()
    {
        Assert.Equal("(ptr, buf:len=arg3 data, ulong, int) -> int", CallSignature.Parse("(ptr, buf:len=arg3 data, size, int) -> int", out _)!.ToString());
        Assert.Equal("(int fd, buf:len=ret data) -> long", CallSignature.Parse("(int fd, buf:len=ret data) -> ssize", out _)!.ToString());
        Assert.Equal("() -> long", CallSignature.Parse("(void)", out _)!.ToString());
    }

    [Theory]
    [InlineData("int", "a signature starts with '('")]
    [InlineData("", "a signature starts with '('")]
    [InlineData("(int, str", "the argument list has no closing ')'")]
    [InlineData("(int) foo", "unexpected 'foo' after the arguments")]
    [InlineData("(int) -> int x", "unknown result type 'int x'")]
    [InlineData("(int) -> buf", "unknown result type 'buf'")]
    [InlineData("(int) -> sockaddr", "unknown result type 'sockaddr'")]
    [InlineData("(int) ->", "unknown result type ''")]
    [InlineData("(char c)", "argument 1: unknown type 'char'")]
    [InlineData("(char *name)", "argument 1: '*name' is not a name")]
    [InlineData("(int, float)", "argument 2: unknown type 'float'")]
    [InlineData("(void, int)", "argument 1: unknown type 'void'")]
    [InlineData("(int,)", "argument 2: empty")]
    [InlineData("(int a b)", "argument 1: 'int a b' is not TYPE or TYPE NAME")]
    [InlineData("(int a-b)", "argument 1: 'a-b' is not a name")]
    [InlineData("(int:len=arg1)", "argument 1: int takes no ':len=arg1'")]
    [InlineData("(buf, int)", "argument 1: buf needs its length: buf:len=argN or buf:len=ret")]
    [InlineData("(sockaddr, int)", "argument 1: sockaddr needs its length: sockaddr:len=argN")]
    [InlineData("(buf:size=arg2, int)", "argument 1: buf needs its length")]
    [InlineData("(buf:len=arg1, int)", "argument 1: len=arg1 must name another, integer argument")]
    [InlineData("(buf:len=arg2, str)", "argument 1: len=arg2 must name another, integer argument")]
    [InlineData("(buf:len=arg2, ptr)", "argument 1: len=arg2 must name another, integer argument")]
    [InlineData("(int, buf:len=arg3)", "argument 2: len=arg3 must name another, integer argument")]
    [InlineData("(buf:len=arg0, int)", "argument 1: len=arg0: expected len=arg1 … len=arg6 or len=ret")]
    [InlineData("(buf:len=arg7, int)", "argument 1: len=arg7: expected len=arg1 … len=arg6 or len=ret")]
    [InlineData("(buf:len=arg+2, int)", "argument 1: len=arg+2: expected")]
    [InlineData("(sockaddr:len=ret)", "argument 1: len=ret: expected len=arg1 … len=arg6")]
    [InlineData("(buf:len=ret) -> void", "argument 1: len=ret needs an integer result")]
    [InlineData("(buf:len=ret) -> ptr", "argument 1: len=ret needs an integer result")]
    [InlineData("(int, int, int, int, int, int, int)", "at most 6 arguments")]
    [InlineData("(int, int, int, int, int, int, int, int)", "at most 6 arguments")]
    public void Rejects_WithTheReason(string text, string reason)
    {
        Assert.Null(CallSignature.Parse(text, out string error));
        Assert.StartsWith(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnyText_GivesASignatureOrAReason_NeverAnException()
    {
        // Fragments of the grammar make most strings reach past the first check.
        string[] pieces = ["(", ")", ",", " ", "->", "int", "buf", "str", "sockaddr", "void", ":len=", "arg", "ret", "1", "7", "x", ":", "\t", "é"];
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000), Prop.ForAll<string, int[]>((raw, picks) =>
        {
            foreach (string text in new[] { raw ?? "", string.Concat((picks ?? []).Select(p => pieces[(p & int.MaxValue) % pieces.Length])) })
            {
                var signature = CallSignature.Parse(text, out string error);
                Assert.True(signature is null != (error.Length == 0), $"'{text}': a signature and an error, or neither");
                if (signature is not null)
                {
                    Assert.InRange(signature.Arguments.Count, 0, CallSignature.MaxArguments);
                    Assert.NotNull(CallSignature.Parse(signature.ToString(), out _));
                }
            }
            return true;
        }));
    }
}
