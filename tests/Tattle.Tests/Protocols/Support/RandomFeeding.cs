using Tattle.Protocols.Common;

namespace Tattle.Tests.Protocols.Support;

/// <summary>What the property tests of stream parsers feed them: two directions cut and interleaved at random, mutations.</summary>
public static class RandomFeeding
{
    /// <summary>
    /// Feeds two streams, interleaved and cut at random, with an occasional gap; then ends and closes. The
    /// feeder's bound on Parse calls makes a parser that loops fail rather than hang.
    /// </summary>
    public static StreamFeeder Feed(ProtocolInfo protocol, byte[] requests, byte[] responses, Random random, ParserOptions options)
    {
        int budget = (4 * (requests.Length + responses.Length)) + 64;
        var feeder = new StreamFeeder(protocol, options, budget);
        int[] offsets = [0, 0];
        byte[][] streams = [requests, responses];
        long now = 0;
        while (offsets[0] < requests.Length || offsets[1] < responses.Length)
        {
            int k = offsets[0] >= requests.Length ? 1 : offsets[1] >= responses.Length ? 0 : random.Next(2);
            var kind = (MessageKind)k;
            int n = Math.Min(streams[k].Length - offsets[k], random.Next(1, 48));
            now += 10;
            if (random.Next(20) == 0)
            {
                feeder.Gap(kind, n, now);
            }
            else
            {
                feeder.Feed(kind, streams[k].AsSpan(offsets[k], n), now, now + 5);
            }
            offsets[k] += n;
        }
        feeder.Feed(MessageKind.Response, [], now, now, endOfStream: random.Next(2) == 0);
        feeder.Close(now + 10);
        return feeder;
    }

    /// <summary>
    /// A stream made of plausible pieces picked by <paramref name="picks"/> (any ints, as FsCheck draws them): they
    /// reach the framing, body and pairing code that random bytes rarely do.
    /// </summary>
    public static byte[] Soup(IReadOnlyList<byte[]> tokens, int[]? picks) =>
        [.. (picks ?? []).SelectMany(p => tokens[(int)((uint)p % (uint)tokens.Count)])];

    /// <summary>The same with text pieces, as Latin-1 bytes.</summary>
    public static byte[] Soup(IReadOnlyList<string> tokens, int[]? picks) =>
        System.Text.Encoding.Latin1.GetBytes(string.Concat((picks ?? []).Select(p => tokens[(int)((uint)p % (uint)tokens.Count)])));

    /// <summary>
    /// <paramref name="source"/> with one to five changes: a byte replaced (at random or by one of
    /// <paramref name="special"/>), a run removed, inserted or repeated.
    /// </summary>
    public static byte[] Mutate(byte[] source, Random random, byte[] special)
    {
        var bytes = new List<byte>(source);
        for (int m = random.Next(1, 6); m > 0 && bytes.Count > 0; m--)
        {
            int at = random.Next(bytes.Count);
            int length = Math.Min(bytes.Count - at, random.Next(1, 17));
            switch (random.Next(5))
            {
                case 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes.RemoveRange(at, length);
                    break;
                case 2:
                    bytes.InsertRange(at, Enumerable.Range(0, length).Select(_ => (byte)random.Next(256)));
                    break;
                case 3:
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                default:
                    bytes[at] = special[random.Next(special.Length)];
                    break;
            }
        }
        return [.. bytes];
    }
}
