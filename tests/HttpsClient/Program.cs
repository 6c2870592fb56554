using System.Net.Security;

// GET each URL given (certificates not checked: the tests' servers are self-signed) and print its status.
using var handler = new SocketsHttpHandler
{
    SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
};
using var client = new HttpClient(handler);
foreach (var url in args)
{
    using var response = await client.GetAsync(url);
    var body = await response.Content.ReadAsByteArrayAsync();
    Console.WriteLine($"{(int)response.StatusCode} {body.Length}");
}
