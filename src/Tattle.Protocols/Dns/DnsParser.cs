using System.Buffers.Binary;
using Tattle.Protocols.Common;

namespace Tattle.Protocols.Dns;

/// <summary>
/// DNS on one socket: one message per datagram over UDP, length-prefixed messages over TCP (RFC 1035 §4.2.2,
/// RFC 7766 §8). Whether a message is a query or a response is the QR bit's say, not the direction's: a traced
/// server (dnsmasq) receives queries and sends responses, a client the other way round, and the pairing is the
/// same either way.
/// </summary>
internal sealed class DnsParser(IMessageSink sink) : IProtocolParser
{
    private readonly DnsMessageReader _reader = new();
    private readonly DnsStitcher _stitcher = new(sink);

    // Set by the last Parse: a socket carries datagrams or a stream, never both.
    private bool _datagram;

    public string Name => "dns";

    public ParseResult Parse(MessageKind kind, ReadOnlySpan<byte> data, in StreamContext context)
    {
        _datagram = context.Datagram;
        if (context.Datagram)
        {
            // The datagram is the message: all of it is used whatever it holds.
            return Handle(data, context) switch
            {
                ParseStatus.Success => ParseResult.Success(data.Length),
                ParseStatus.Ignored => ParseResult.Ignored(data.Length),
                _ => ParseResult.Invalid,
            };
        }
        // Garbage is told as soon as a header is there, not after waiting for up to 64 KiB it announces.
        var probe = DnsProtocol.ProbeStream(data);
        if (probe == Detection.No)
        {
            return ParseResult.Invalid;
        }
        if (probe == Detection.NeedMoreData)
        {
            return ParseResult.NeedMoreData();
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(data);
        if (data.Length - 2 < length)
        {
            return ParseResult.NeedMoreData();
        }
        return Handle(data.Slice(2, length), context) switch
        {
            ParseStatus.Success => ParseResult.Success(2 + length),
            ParseStatus.Ignored => ParseResult.Ignored(2 + length),
            _ => ParseResult.Invalid,
        };
    }

    private ParseStatus Handle(ReadOnlySpan<byte> message, in StreamContext context)
    {
        if (!DnsHeader.TryRead(message, out var header)
            || !header.IsPlausible(context.Datagram ? int.MaxValue : message.Length, lenient: true))
        {
            return ParseStatus.Invalid;
        }
        var status = _reader.Read(message, withAnswers: header.IsResponse, out var read);
        // A datagram cut after its question (the snap length) still says who asked what; a TCP message is whole.
        bool cut = status == DnsReadStatus.CutAfterQuestion;
        if (status is DnsReadStatus.Malformed or DnsReadStatus.CutInQuestion || (cut && !context.Datagram))
        {
            return ParseStatus.Invalid;
        }
        // Only standard queries pair (RFC 1035 §4.1.1 opcode 0); NOTIFY, UPDATE and the like are left alone, and
        // a query without a question (a bare cookie refresh, RFC 7873 §5.4) has nothing to report.
        if (header.Opcode != 0 || (!header.IsResponse && read.QName is null))
        {
            return ParseStatus.Ignored;
        }
        string transport = context.Datagram ? "udp" : "tcp";
        if (header.IsResponse)
        {
            _stitcher.OnResponse(read, cut, context.Peer, transport, context.StartNs, context.NowNs);
        }
        else
        {
            _stitcher.OnQuery(read, context.Peer, transport, context.StartNs, context.NowNs);
        }
        return ParseStatus.Success;
    }

    public int FindFrameBoundary(MessageKind kind, ReadOnlySpan<byte> data)
    {
        if (_datagram)
        {
            return 0;
        }
        for (int i = 0; i + 2 <= data.Length; i++)
        {
            if (DnsProtocol.ProbeStream(data[i..]) != Detection.No)
            {
                return i;
            }
        }
        return -1;
    }

    // Datagrams are independent: a lost one costs its message only. In a stream the next length prefix is lost.
    public bool OnGap(MessageKind kind, long bytes, long nowNs) => _datagram;

    public void OnClose(long nowNs) => _stitcher.Close(nowNs);
}
