using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Tattle.Protocols.Http2.Hpack;
using static Tattle.Protocols.Http2.Hpack.HpackWriter;

namespace Tattle.Tests.Protocols.Http2.Hpack;

/// <summary>
/// Whatever the bytes, the decoder returns a status without throwing, its table stays within the limit; blocks a
/// reference encoder makes decode to the fields it encoded, with the table the encoder's model says.
/// </summary>
public sealed class HpackPropertyTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static readonly string[] Names = [":method", ":path", ":authority", "accept", "user-agent", "x-id", "cookie", "custom-key", ""];
    private static readonly string[] Values = ["GET", "/", "/index.html", "example.com", "", "v", "a=b; c=d", "Mozilla/5.0 (X11)", "\u00ff\u0000\u0001"];

    private static void CheckBounded(HpackDecoder decoder, byte[] block)
    {
        var status = decoder.Decode(block, new RecordingSink());
        if (!Enum.IsDefined(status) || decoder.TableSize > Math.Max(decoder.MaxTableSizeLimit, decoder.MaxTableSize))
        {
            throw new InvalidOperationException($"{status}, table {decoder.TableSize}");
        }
    }

    [Fact]
    public void RandomBytes_NeverThrow()
    {
        Check.One(Many, Prop.ForAll<byte[], bool, byte[]>((first, synchronized, second) =>
        {
            var decoder = new HpackDecoder(256, synchronized);
            CheckBounded(decoder, first ?? []);
            CheckBounded(decoder, second ?? []);
            return true;
        }));
    }

    [Fact]
    public void ValidBlocksCutAtRandom_NeverThrow()
    {
        // The caller hands whole blocks; a lost or misframed fragment still makes a block that starts mid-field.
        Check.One(Many, Prop.ForAll<int, int[]>((seed, cuts) =>
        {
            var stream = new ReferenceEncoder(new Random(seed), 256).Blocks(8).SelectMany(b => b.Block).ToArray();
            var decoder = new HpackDecoder(256);
            int offset = 0;
            foreach (int cut in cuts ?? [])
            {
                int length = Math.Min(stream.Length - offset, (int)((uint)cut % 64));
                CheckBounded(decoder, stream.AsSpan(offset, length).ToArray());
                offset += length;
            }
            CheckBounded(decoder, stream.AsSpan(offset).ToArray());
            return true;
        }));
    }

    [Fact]
    public void ValidBlocks_RoundTrip()
    {
        Check.One(Many, Prop.ForAll<int>(seed =>
        {
            var random = new Random(seed);
            int limit = random.Next(3) switch { 0 => 0, 1 => 128, _ => 4096 };
            var encoder = new ReferenceEncoder(random, limit);
            var decoder = new HpackDecoder(limit);
            foreach (var (block, fields) in encoder.Blocks(20))
            {
                var sink = new RecordingSink();
                var status = decoder.Decode(block, sink);
                if (status != HpackStatus.Ok || !sink.Fields.SequenceEqual(fields)
                    || decoder.TableSize != encoder.TableSize || decoder.TableCount != encoder.TableCount)
                {
                    throw new InvalidOperationException(
                        $"{status}: [{string.Join(" | ", sink.Fields)}] vs [{string.Join(" | ", fields)}], " +
                        $"table {decoder.TableSize}/{decoder.TableCount} vs {encoder.TableSize}/{encoder.TableCount}");
                }
            }
            return true;
        }));
    }

    /// <summary>An HPACK encoder with a plain list for its table, choosing representations at random.</summary>
    private sealed class ReferenceEncoder
    {
        private readonly Random _random;
        private readonly int _limit;
        private readonly List<(string Name, string Value)> _table = [];
        private int _maxSize;

        public ReferenceEncoder(Random random, int limit)
        {
            _random = random;
            _limit = limit;
            _maxSize = limit;
        }

        public int TableSize => _table.Sum(e => Encoding.Latin1.GetByteCount(e.Name) + Encoding.Latin1.GetByteCount(e.Value) + 32);
        public int TableCount => _table.Count;

        public IEnumerable<(byte[] Block, List<string> Fields)> Blocks(int count)
        {
            for (int i = 0; i < count; i++)
            {
                var bytes = new List<byte>();
                var fields = new List<string>();
                if (_random.Next(6) == 0)
                {
                    _maxSize = _random.Next(_limit + 1);
                    SizeUpdate(bytes, _maxSize);
                    Evict(_maxSize);
                }
                for (int f = _random.Next(12); f > 0; f--)
                {
                    Field(bytes, fields);
                }
                yield return ([.. bytes], fields);
            }
        }

        private void Field(List<byte> bytes, List<string> fields)
        {
            string name = _random.Next(8) == 0 ? new string('n', _random.Next(1, 90)) : Names[_random.Next(Names.Length)];
            string value = _random.Next(8) == 0 ? new string('v', _random.Next(1, 300)) : Values[_random.Next(Values.Length)];
            int exact = _table.IndexOf((name, value));
            if (exact >= 0 && _random.Next(2) == 0)
            {
                Indexed(bytes, HpackStaticTable.Count + 1 + exact);
                fields.Add($"{name}: {value}");
                return;
            }
            int nameIndex = _table.FindIndex(e => e.Name == name);
            nameIndex = nameIndex >= 0 && _random.Next(2) == 0 ? HpackStaticTable.Count + 1 + nameIndex : StaticName(name);
            byte kind = _random.Next(3) switch { 0 => 0x40, 1 => 0x00, _ => 0x10 };
            Literal(bytes, kind, nameIndex, nameIndex == 0 ? name : null, value, huffman: _random.Next(2) == 0);
            fields.Add($"{name}: {value}");
            if (kind == 0x40)
            {
                int size = Encoding.Latin1.GetByteCount(name) + Encoding.Latin1.GetByteCount(value) + 32;
                Evict(_maxSize - size);
                if (size <= _maxSize)
                {
                    _table.Insert(0, (name, value));
                }
            }
        }

        private int StaticName(string name)
        {
            int index = HpackStaticTable.Find(Encoding.Latin1.GetBytes(name));
            return index > 0 && _random.Next(2) == 0 ? index : 0;
        }

        private void Evict(int size)
        {
            while (_table.Count > 0 && TableSize > size)
            {
                _table.RemoveAt(_table.Count - 1);
            }
        }
    }
}
