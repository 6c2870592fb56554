using Tattle.Protocols.Http1;

namespace Tattle.Tests.Protocols.Http1;

public sealed class HttpRedactorTests
{
    [Theory]
    [InlineData("Authorization", true)]
    [InlineData("proxy-authorization", true)]
    [InlineData("COOKIE", true)]
    [InlineData("Set-Cookie", true)]
    [InlineData("X-Api-Key", true)]
    [InlineData("X-Auth-Token", true)]
    [InlineData("X-Client-Secret", true)]
    [InlineData("X-Password", true)]
    [InlineData("Api-KEY", true)]
    [InlineData("Sec-WebSocket-Key", true)]
    [InlineData("Accept", false)]
    [InlineData("Host", false)]
    [InlineData("Keep-Alive", false)]
    [InlineData("Content-Type", false)]
    [InlineData("Authorization-Hint", false)]
    [InlineData("X-Amz-Signature", true)]
    [InlineData("X-Amz-Credential", true)]
    [InlineData("X-Session-Id", true)]
    [InlineData("X-Auth-User", true)]
    [InlineData("sig", true)]
    [InlineData("X-Pwd", true)]
    [InlineData("X-Passwd", true)]
    [InlineData("X-Design", false)]
    [InlineData("Author", false)]
    public void SecretHeaders(string name, bool secret) => Assert.Equal(secret, HttpRedactor.IsSecretHeader(name));

    [Theory]
    [InlineData("/a?token=x&b=1", "/a?token=REDACTED&b=1")]
    [InlineData("/a?b=1&access_token=x", "/a?b=1&access_token=REDACTED")]
    [InlineData("/login?user=bob&Password=hunter2&next=/", "/login?user=bob&Password=REDACTED&next=/")]
    [InlineData("https://h/?API_KEY=1&x", "https://h/?API_KEY=REDACTED&x")]
    [InlineData("/s?monkey=banana", "/s?monkey=REDACTED")]
    [InlineData("/a?secret=", "/a?secret=REDACTED")]
    [InlineData("http://user:pass@host/", "http://REDACTED@host/")]
    [InlineData("http://user@host:8080/p?q=1", "http://REDACTED@host:8080/p?q=1")]
    [InlineData("ftp://a:b@c", "ftp://REDACTED@c")]
    [InlineData("http://u:p@h/x?token=t", "http://REDACTED@h/x?token=REDACTED")]
    [InlineData("/o?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F&X-Amz-Signature=ab", "/o?X-Amz-Algorithm=AWS4&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED")]
    [InlineData("/a?sig=1&signature=2&passwd=3&pwd=4&auth=5&session=6&credential=7", "/a?sig=REDACTED&signature=REDACTED&passwd=REDACTED&pwd=REDACTED&auth=REDACTED&session=REDACTED&credential=REDACTED")]
    [InlineData("/cb?state=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln&x=1", "/cb?state=REDACTED&x=1")]
    public void UrlsLoseTheirSecrets(string url, string expected) => Assert.Equal(expected, HttpRedactor.RedactUrl(url));

    [Theory]
    [InlineData("/")]
    [InlineData("/a?b=1&c=2")]
    [InlineData("/a?token")]
    [InlineData("/a?=token")]
    [InlineData("/p@x/y")]
    [InlineData("/r?next=http://u:p@h/")]
    [InlineData("http://host/path@x")]
    [InlineData("example.com:443")]
    [InlineData("*")]
    [InlineData("/design?author=x&signal=1")]
    public void UrlsWithoutSecretsAreReturnedAsThey(string url) => Assert.Same(url, HttpRedactor.RedactUrl(url));

    [Theory]
    [InlineData("http://u:p@h:8080/x", "h:8080")]
    [InlineData("http://example.com", "example.com")]
    [InlineData("http://example.com?x", "example.com")]
    [InlineData("/x", null)]
    [InlineData("example.com:443", null)]
    [InlineData("/a/http://b/", null)]
    public void HostOfAnAbsoluteUrl(string url, string? host) => Assert.Equal(host, HttpRedactor.HostOf(url));

    [Theory]
    [InlineData("Bearer abc.def", "Bearer REDACTED")]
    [InlineData("x Bearer  abc/def+g== y", "x Bearer  REDACTED y")]
    [InlineData("BASIC YWxpY2U6cHc=", "BASIC REDACTED")]
    [InlineData("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln, more", "token REDACTED, more")]
    [InlineData("Basic realm=\"x\"", "Basic realm=\"x\"")]
    [InlineData("Bearer", "Bearer")]
    [InlineData("Bearer REDACTED", "Bearer REDACTED")]
    [InlineData("basically", "basically")]
    [InlineData("eyJshort.x.y", "eyJshort.x.y")]
    [InlineData("XBearer abc", "XBearer abc")]
    public void CredentialsAreFoundByTheirForm(string text, string expected)
    {
        Assert.Equal(expected, HttpRedactor.RedactCredentials(text));
        // The scan of a header value's bytes agrees with the scan of its text.
        Assert.Equal(HttpRedactor.MayHoldCredential(text.AsSpan()), HttpRedactor.MayHoldCredential(System.Text.Encoding.ASCII.GetBytes(text)));
    }
}
