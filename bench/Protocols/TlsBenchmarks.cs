using BenchmarkDotNet.Attributes;
using Tattle.Protocols.Common;
using Tattle.Protocols.Tls;

namespace Tattle.Bench.Protocols;

/// <summary>
/// TLS handshake parse cost per connection, on curl's ClientHello and openssl s_server's ServerHello (TLS 1.3,
/// tests/Tattle.Tests/testdata/tls/curl-sni.*): a new parser each time, as each connection gets one.
/// </summary>
[MemoryDiagnoser]
public class TlsBenchmarks
{
    private static readonly byte[] ClientHello = Convert.FromHexString(
        "1603010200010001fc0303311b93f078c8ae25d5699b740378f0158029cb347bcbf9dd08ccc5ad66413328201359df3e3655993a0860be" +
        "db11bd0fda2ddbb9e12de67bc99749f36625d8259a003e130213031301c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023" +
        "c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff0100017500000011000f00000c6578616d706c652e74657374" +
        "000b000403000102000a00160014001d0017001e00190018010001010102010301040010000e000c02683208687474702f312e31001600" +
        "000017000000310000000d002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602" +
        "002b0009080304030303020301002d00020101003300260024001d00208a2031315a67d6ac1a54c15652347b142f407cb2a15d666777f2" +
        "27ef3430e367001500b1" + new string('0', 2 * 0xb1));
    private static readonly byte[] ServerHello = Convert.FromHexString(
        "160303007a0200007603036803524df73f730340d4a39b2d7fa9d2e16080cf7fefed43574a1fbe30556d52201359df3e3655993a0860be" +
        "db11bd0fda2ddbb9e12de67bc99749f36625d8259a130200002e002b0002030400330024001d0020c5f547966428dd9689daf2013c9ac2" +
        "de89db71ac1d2d109fc0d55321d484f245");

    private sealed class NullSink : IMessageSink
    {
        public void OnMessage(ProtocolMessage message)
        {
        }
    }

    private readonly NullSink _sink = new();

    /// <summary>ClientHello then ServerHello on a fresh parser: one <see cref="TlsHandshake"/>.</summary>
    [Benchmark]
    public ParseResult Handshake()
    {
        var parser = TlsProtocol.Info.Create(ParserOptions.Default, _sink);
        parser.Parse(MessageKind.Request, ClientHello, new StreamContext(1, 2));
        return parser.Parse(MessageKind.Response, ServerHello, new StreamContext(3, 4));
    }

    [Benchmark]
    public Detection Probe() => TlsProtocol.Info.Probe(ClientHello, false, 40000, 443);
}
