namespace Tattle.Output.Otlp;

/// <summary>
/// Random trace (16 bytes) and span (8 bytes) ids, never all zero: W3C trace context calls that invalid. They
/// need to be unique, not unpredictable: the shared non-cryptographic generator, not OpenSSL's (which took a
/// getpid and an AES block per id, 5 % of the agent's CPU under load).
/// </summary>
public static class OtlpTraceIds
{
    public static byte[] NewTraceId() => Random(16);

    public static byte[] NewSpanId() => Random(8);

    /// <summary>Fills <paramref name="id"/> (a trace id's 16 bytes or a span id's 8) with a new id.</summary>
    public static void Fill(Span<byte> id)
    {
        do
        {
            System.Random.Shared.NextBytes(id);
        }
        while (!id.ContainsAnyExcept((byte)0));
    }

    private static byte[] Random(int length)
    {
        var id = new byte[length];
        Fill(id);
        return id;
    }
}
