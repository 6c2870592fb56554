using Tattle.Protocols.Common;

namespace Tattle.Tests.Protocols.Support;

/// <summary>
/// A connection recorded by a testdata capture script's relay: both directions' bytes (NAME.c2s, NAME.s2c) and the
/// order of the relay's recv() calls (NAME.order), so a replay interleaves the directions as they really were.
/// </summary>
public sealed class RecordedConnection
{
    public const long StepNs = 1_000;

    private RecordedConnection(string name, byte[] requests, byte[] responses, List<(MessageKind Kind, int Length)> recvs)
    {
        Name = name;
        Requests = requests;
        Responses = responses;
        Recvs = recvs;
    }

    public string Name { get; }

    public byte[] Requests { get; }

    public byte[] Responses { get; }

    public IReadOnlyList<(MessageKind Kind, int Length)> Recvs { get; }

    public byte[] Bytes(MessageKind kind) => kind == MessageKind.Request ? Requests : Responses;

    /// <summary>Each recv's bytes, in the order they were received.</summary>
    public List<(MessageKind Kind, byte[] Bytes)> Chunks()
    {
        int[] offsets = [0, 0];
        var chunks = new List<(MessageKind, byte[])>();
        foreach (var (kind, length) in Recvs)
        {
            chunks.Add((kind, Bytes(kind).AsSpan(offsets[(int)kind], length).ToArray()));
            offsets[(int)kind] += length;
        }
        return chunks;
    }

    public static RecordedConnection Load(string folder, string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "testdata", folder);
        var recvs = new List<(MessageKind, int)>();
        foreach (string line in File.ReadAllLines(Path.Combine(dir, name + ".order")))
        {
            if (line.Length == 0)
            {
                continue;
            }
            string[] parts = line.Split(' ');
            recvs.Add((parts[0] == "c2s" ? MessageKind.Request : MessageKind.Response, int.Parse(parts[1])));
        }
        return new RecordedConnection(
            name, File.ReadAllBytes(Path.Combine(dir, name + ".c2s")), File.ReadAllBytes(Path.Combine(dir, name + ".s2c")), recvs);
    }

    /// <summary>
    /// Feeds the recording in its recv order, each recv cut into segments by <paramref name="random"/> (whole
    /// when null), one <see cref="StepNs"/> apart; then both directions end and the connection closes. With
    /// <paramref name="consumesAtOnce"/> false the parser is told its sink keeps messages, and makes each anew.
    /// </summary>
    public StreamFeeder Replay(ProtocolInfo protocol, ParserOptions? options = null, Random? random = null, int maxSegment = 64, bool consumesAtOnce = true)
    {
        var feeder = new StreamFeeder(protocol, options, consumesAtOnce: consumesAtOnce);
        long now = Replay(feeder, random, maxSegment);
        feeder.Feed(MessageKind.Response, [], now, now, endOfStream: true);
        feeder.Feed(MessageKind.Request, [], now, now, endOfStream: true);
        feeder.Close(now + StepNs);
        return feeder;
    }

    /// <summary>
    /// Asserts that the whole recording gives messages, and the same ones whether the parser refills its objects
    /// (a sink done with each message on return, as the trace's recorder is) or makes each anew (a sink that keeps them).
    /// </summary>
    public void AssertSameRefilledOrKept(ProtocolInfo protocol)
    {
        var refilled = Replay(protocol).Messages;
        Assert.NotEmpty(refilled);
        Assert.Equal(Replay(protocol, consumesAtOnce: false).Messages, refilled);
    }

    /// <summary>
    /// Feeds the recording without ending it; returns the time after the last segment. <paramref name="from"/>
    /// gives, per direction (indexed by <see cref="MessageKind"/>), how many of its first bytes are left out, as
    /// if tracing began there or another parser had read them.
    /// </summary>
    public long Replay(StreamFeeder feeder, Random? random = null, int maxSegment = 64, int[]? from = null, InjectedGap? gap = null)
    {
        long now = StepNs;
        int[] offsets = [0, 0];
        foreach (var (kind, length) in Recvs)
        {
            int start = offsets[(int)kind];
            offsets[(int)kind] += length;
            int skip = Math.Clamp((from?[(int)kind] ?? 0) - start, 0, length);
            int end = start + length;
            int position = start + skip;
            if (gap is { } g && g.Kind == kind && g.Offset < end && g.Offset + g.Length > position)
            {
                // The recv holds (part of) the hole: what precedes it, the gap itself once, then what follows.
                int holeStart = Math.Max(g.Offset, position), holeEnd = Math.Min(g.Offset + g.Length, end);
                now = Feed(feeder, kind, Bytes(kind).AsSpan(position, holeStart - position), now, random, maxSegment);
                if (holeStart == g.Offset)
                {
                    feeder.Gap(kind, g.Length, now);
                }
                position = holeEnd;
            }
            now = Feed(feeder, kind, Bytes(kind).AsSpan(position, end - position), now, random, maxSegment);
        }
        return now;
    }

    /// <summary>
    /// Feeds the recording with <paramref name="gap"/> left out and the parser told of it where it falls, as the
    /// tracker does for bytes the kernel never handed over; then both directions end and the connection closes.
    /// </summary>
    public StreamFeeder ReplayWithGap(ProtocolInfo protocol, InjectedGap gap, ParserOptions? options = null)
    {
        var feeder = new StreamFeeder(protocol, options);
        long now = Replay(feeder, gap: gap);
        feeder.Feed(MessageKind.Response, [], now, now, endOfStream: true);
        feeder.Feed(MessageKind.Request, [], now, now, endOfStream: true);
        feeder.Close(now + StepNs);
        return feeder;
    }

    /// <summary>The offset of <paramref name="text"/>'s first occurrence in a direction (to place a gap in it).</summary>
    public int IndexOf(MessageKind kind, string text)
    {
        int i = Bytes(kind).AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text));
        return i >= 0 ? i : throw new ArgumentException($"{Name}: \"{text}\" is not in the {kind}s");
    }

    private static long Feed(StreamFeeder feeder, MessageKind kind, ReadOnlySpan<byte> bytes, long now, Random? random, int maxSegment)
    {
        while (!bytes.IsEmpty)
        {
            int n = random is null ? bytes.Length : Math.Min(bytes.Length, random.Next(1, maxSegment + 1));
            feeder.Feed(kind, bytes[..n], now, now + (StepNs / 2));
            bytes = bytes[n..];
            now += StepNs;
        }
        return now;
    }
}

/// <summary>Bytes [Offset, Offset + Length) of one direction that a replay leaves out, as lost.</summary>
public readonly record struct InjectedGap(MessageKind Kind, int Offset, int Length);
