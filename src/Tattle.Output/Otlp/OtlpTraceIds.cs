using System.Security.Cryptography;

namespace Tattle.Output.Otlp;

/// <summary>Random trace (16 bytes) and span (8 bytes) ids, never all zero: W3C trace context calls that invalid.</summary>
public static class OtlpTraceIds
{
    public static byte[] NewTraceId() => Random(16);

    public static byte[] NewSpanId() => Random(8);

    private static byte[] Random(int length)
    {
        var id = new byte[length];
        do
        {
            RandomNumberGenerator.Fill(id);
        }
        while (!id.AsSpan().ContainsAnyExcept((byte)0));
        return id;
    }
}
