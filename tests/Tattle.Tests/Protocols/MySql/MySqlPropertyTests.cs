using FsCheck;
using FsCheck.Fluent;
using Tattle.Protocols.Common;
using Tattle.Protocols.MySql;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.MySql;

/// <summary>
/// Whatever the bytes, the parser returns a status: no exception, Consumed within the input, and a bounded number
/// of calls (the feeder checks both and throws on a breach, which fails the property).
/// </summary>
public sealed class MySqlPropertyTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static readonly string[] Captures = ["select1", "error", "syntax", "script", "ping", "bad_password", "old_eof", "connector", "compressed"];

    private static StreamFeeder Feed(byte[] requests, byte[] responses, Random random) =>
        RandomFeeding.Feed(MySqlProtocol.Info, requests, responses, random, new ParserOptions { Redact = false });

    [Fact]
    public void RandomBytesNeverThrowNorLoop()
    {
        Check.One(Many, Prop.ForAll<byte[], byte[], int>((requests, responses, seed) =>
        {
            Feed(requests ?? [], responses ?? [], new Random(seed));
            return true;
        }));
    }

    [Fact]
    public void PacketSoupNeverThrowsNorLoops()
    {
        // Well-framed packets of the kinds the parser reads, in any order: deeper states than random bytes reach.
        byte[][] tokens =
        [
            [1, 0, 0, 0, 0x0E], [9, 0, 0, 0, 3, (byte)'s', (byte)'e', (byte)'l', (byte)'e', (byte)'c', (byte)'t', (byte)' ', (byte)'1'],
            [5, 0, 0, 0, 0x17, 1, 0, 0, 0], [5, 0, 0, 0, 0x16, (byte)'d', (byte)'o', (byte)' ', (byte)'1'],
            [1, 0, 0, 1, 1], [7, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0], [5, 0, 0, 2, 0xFE, 0, 0, 8, 0],
            [12, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0], [2, 0, 0, 2, 1, (byte)'1'], [0xFF, 0xFF, 0xFF, 3, 1],
            [9, 0, 0, 1, 0xFF, 0x28, 4, (byte)'#', (byte)'4', (byte)'2', (byte)'0', (byte)'0', (byte)'0'], [0xFB, 0, 0, 1, 0xFB],
        ];
        Check.One(Many, Prop.ForAll<int[], int[], int>((requests, responses, seed) =>
        {
            Feed(RandomFeeding.Soup(tokens, requests), RandomFeeding.Soup(tokens, responses), new Random(seed));
            return true;
        }));
    }

    [Fact]
    public void MutatedCapturesNeverThrowNorLoop()
    {
        byte[] special = [0, 1, 0xff, 0xfe, 0xfb, 0xfc, 0xfd, 0x0a, 3, 0x16, 0x17];
        Check.One(Many, Prop.ForAll<int>(seed =>
        {
            var random = new Random(seed);
            var c = RecordedConnection.Load("mysql", Captures[random.Next(Captures.Length)]);
            Feed(RandomFeeding.Mutate(c.Requests, random, special), RandomFeeding.Mutate(c.Responses, random, special), random);
            return true;
        }));
    }

    [Fact]
    public void ProbeNeverThrows()
    {
        Check.One(Many, Prop.ForAll<byte[], int>((data, port) =>
        {
            MySqlProtocol.Probe(data ?? [], false, 0, port % 2 == 0 ? 3306 : port);
            return true;
        }));
    }
}
