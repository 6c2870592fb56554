using System.Globalization;

namespace Tattle.Records;

/// <summary>Status classes and codes as telemetry writes them, from a cache so a request allocates none.</summary>
public static class StatusClass
{
    private static readonly string[] Classes = ["1xx", "2xx", "3xx", "4xx", "5xx"];
    private static readonly string[] Codes = [.. Enumerable.Range(0, 600).Select(i => i.ToString(CultureInfo.InvariantCulture))];

    /// <summary>"2xx" for 200–299 and so on; "none" without a status, "other" outside 100–599.</summary>
    public static string Of(int? status) => status switch
    {
        null => "none",
        >= 100 and < 600 => Classes[status.Value / 100 - 1],
        _ => "other",
    };

    /// <summary>
    /// An HTTP status as a failure's error.type (semantic conventions), or null: a client's 4xx is its failure, a
    /// server's is the client's, so a server fails only from 500 on.
    /// </summary>
    public static string? HttpErrorType(int? status, bool server) =>
        status is int s && (s >= 500 || (!server && s >= 400)) ? Code(s) : null;

    /// <summary>The code as text.</summary>
    public static string Code(int status) => (uint)status < Codes.Length ? Codes[status] : status.ToString(CultureInfo.InvariantCulture);
}
