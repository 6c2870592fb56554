using System.Net.Security;

// GET each URL given (certificates not checked: the tests' servers are self-signed) and print its status and the
// HTTP version used; --http2 first asks for HTTP/2 (ALPN h2 over TLS).
using var handler = new SocketsHttpHandler
{
    SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
};
using var client = new HttpClient(handler);
bool http2 = args.Length > 0 && args[0] == "--http2";
if (http2)
{
    client.DefaultRequestVersion = System.Net.HttpVersion.Version20;
    client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
}
foreach (var url in args.Skip(http2 ? 1 : 0))
{
    using var response = await client.GetAsync(url);
    var body = await response.Content.ReadAsByteArrayAsync();
    Console.WriteLine(http2 ? $"{(int)response.StatusCode} {body.Length} {response.Version}" : $"{(int)response.StatusCode} {body.Length}");
}
