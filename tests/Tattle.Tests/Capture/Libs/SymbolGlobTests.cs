using Tattle.Capture.Libs;

namespace Tattle.Tests.Capture.Libs;

public class SymbolGlobTests
{
    [Theory]
    [InlineData("SSL_*", "SSL_read", true)]
    [InlineData("SSL_*", "SSL_", true)]
    [InlineData("SSL_*", "TLS_method", false)]
    [InlineData("*read*", "SSL_read_ex", true)]
    [InlineData("SSL_?ead", "SSL_read", true)]
    [InlineData("SSL_?ead", "SSL_rread", false)]
    [InlineData("SSL_[rw]*", "SSL_write", true)]
    [InlineData("SSL_[rw]*", "SSL_peek", false)]
    [InlineData("SSL_[!rw]*", "SSL_peek", true)]
    [InlineData("SSL_[^rw]*", "SSL_read", false)]
    [InlineData("x[a-c]", "xb", true)]
    [InlineData("x[a-c]", "xd", false)]
    [InlineData("x[]]", "x]", true)]
    [InlineData("x[", "x[", true)]
    [InlineData("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false)]
    [InlineData("", "", true)]
    [InlineData("", "a", false)]
    [InlineData("**", "", true)]
    public void Matches_LikeFnmatch(string pattern, string name, bool expected) =>
        Assert.Equal(expected, new SymbolGlob(pattern).IsMatch(name));
}
