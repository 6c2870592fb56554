using System.Text;
using Tattle.Protocols.Http;
using Tattle.Protocols.Http1;

namespace Tattle.Tracking;

/// <summary>
/// The method and route of requests counted in the kernel (--stats-in-kernel), from the first bytes the kernel kept
/// of them: "GET /users/1?x=2 HTTP/1.1\r\n...". A target cut by the end of those bytes inside its path gives a
/// route that ends in "…".
/// </summary>
public static class KernelHttpHead
{
    public const string Cut = RequestHeadPrefix.Cut;

    /// <summary>(null, null) for bytes that do not begin with a method and a space.</summary>
    public static (string? Method, string? Route) MethodAndRoute(ReadOnlySpan<byte> head)
    {
        int space = head.IndexOf((byte)' ');
        if (space <= 0)
        {
            return (null, null);
        }
        var method = Encoding.Latin1.GetString(head[..space]);
        var rest = head[(space + 1)..];
        int end = rest.IndexOfAny((byte)' ', (byte)'\r', (byte)'\n');
        bool cut = end < 0;
        var target = Encoding.Latin1.GetString(cut ? rest.TrimEnd((byte)0) : rest[..end]);
        var route = HttpRoute.Template(target);
        // A cut inside the query or fragment leaves the route whole.
        if (cut && route is not null && target.IndexOfAny(['?', '#']) < 0)
        {
            route += Cut;
        }
        return (method, route);
    }
}
