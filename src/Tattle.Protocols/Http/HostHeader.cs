namespace Tattle.Protocols.Http;

/// <summary>The host part of a Host header or :authority ("example.com:8080", "[::1]:8080").</summary>
public static class HostHeader
{
    public static string WithoutPort(string host)
    {
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']');
            return close > 0 ? host[1..close] : host;
        }
        int colon = host.LastIndexOf(':');
        return colon > 0 && host.IndexOf(':') == colon ? host[..colon] : host;
    }
}
