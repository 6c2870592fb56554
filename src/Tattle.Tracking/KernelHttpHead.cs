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
        // A route keeps neither the query nor the authority, where redaction would act.
        if (RequestHeadPrefix.Parse(head, redact: false) is not { } fields)
        {
            return (null, null);
        }
        // "…" is not Latin-1, so it ends a target only where the bytes cut it.
        bool cut = fields.Target.EndsWith(Cut, StringComparison.Ordinal);
        var target = cut ? fields.Target[..^Cut.Length] : fields.Target;
        var route = HttpRoute.Template(target);
        // A cut inside the query or fragment leaves the route whole.
        if (cut && route is not null && target.IndexOfAny(['?', '#']) < 0)
        {
            route += Cut;
        }
        return (fields.Method, route);
    }
}
