using System.Text.Json;

namespace Tattle.Tests.Support;

/// <summary>Reads fields of the JSON Lines records tattle writes (use with <c>using static</c>).</summary>
public static class RecordFields
{
    /// <summary>A string field, or null when it is missing or not a string.</summary>
    public static string? Str(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static int Int(JsonElement r, string name) => r.GetProperty(name).GetInt32();

    /// <summary>Whether a record says <c>"tls": true</c> (plaintext read through the TLS probes).</summary>
    public static bool IsTls(JsonElement r) => r.TryGetProperty("tls", out var t) && t.ValueKind == JsonValueKind.True;

    /// <summary>An http record as nginx's oracle access log writes it: "METHOD URI STATUS" (0 without a status).</summary>
    public static string Line(JsonElement http) =>
        $"{Str(http, "method")} {Str(http, "path")} {(http.GetProperty("status").ValueKind == JsonValueKind.Number ? Int(http, "status") : 0)}";
}
