using FsCheck;
using FsCheck.Fluent;
using Tattle.Protocols.Common;
using Tattle.Protocols.Postgres;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Postgres;

/// <summary>
/// Whatever the bytes, the parser returns a status: no exception, Consumed within the input, and a bounded number
/// of calls (the feeder checks both and throws on a breach, which fails the property).
/// </summary>
public sealed class PostgresPropertyTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static readonly string[] Captures = ["select1", "error", "multi", "script", "extended", "notify", "scram", "bad_database"];

    private static StreamFeeder Feed(byte[] requests, byte[] responses, Random random) =>
        RandomFeeding.Feed(PostgresProtocol.Info, requests, responses, random, new ParserOptions { Redact = false });

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
    public void MutatedCapturesNeverThrowNorLoop()
    {
        byte[] special = [0, 0xff, 0x7f, (byte)'Z', (byte)'D', (byte)'E', (byte)'C', (byte)'Q', (byte)'S', 4, 5];
        Check.One(Many, Prop.ForAll<int>(seed =>
        {
            var random = new Random(seed);
            var c = RecordedConnection.Load("postgres", Captures[random.Next(Captures.Length)]);
            Feed(RandomFeeding.Mutate(c.Requests, random, special), RandomFeeding.Mutate(c.Responses, random, special), random);
            return true;
        }));
    }

    [Fact]
    public void ProbeNeverThrows()
    {
        Check.One(Many, Prop.ForAll<byte[], int>((data, port) =>
        {
            PostgresProtocol.Probe(data ?? [], false, 0, port % 2 == 0 ? 5432 : port);
            return true;
        }));
    }
}
