using Tattle.Protocols.Common;

namespace Tattle.Protocols.Tls;

/// <summary>
/// The clear part of a TLS connection: reassembles the hellos from records (RFC 8446 §5.1: a handshake message
/// may span records, and several may share one), reports one <see cref="TlsHandshake"/> when the ServerHello is
/// read, then ends the stream, since all that follows is encrypted (TLS 1.3) or of no use to a trace.
/// </summary>
internal sealed class TlsParser(IMessageSink sink) : IProtocolParser
{
    /// <summary>The largest handshake message reassembled; a larger one is given up.</summary>
    public const int MaxHandshakeMessage = 64 * 1024;

    private const int HandshakeHeader = 4;

    private enum Outcome : byte
    {
        Incomplete,
        ClientHello,
        HelloRetry,
        ServerHello,
        GaveUp,
    }

    /// <summary>One direction's partial handshake message.</summary>
    private sealed class Direction
    {
        public byte[]? Buffer;
        public int Length;

        /// <summary>This direction's hello was read (or given up): its further records are skipped whole.</summary>
        public bool Done;

        public long StartNs;
    }

    private readonly Direction[] _directions = [new(), new()];
    private ClientHello? _client;
    private long _clientStartNs;
    private bool _helloRetry;
    private bool _reported;

    public string Name => "tls";

    public ParseResult Parse(MessageKind kind, ReadOnlySpan<byte> data, in StreamContext context)
    {
        if (_reported)
        {
            return ParseResult.EndOfStream(0);
        }
        var direction = _directions[(int)kind];
        int consumed = 0;
        while (true)
        {
            var rest = data[consumed..];
            var check = TlsRecordHeader.Check(rest, out var header);
            if (check == TlsRecordCheck.Invalid)
            {
                if (consumed > 0)
                {
                    return ParseResult.Ignored(consumed);
                }
                direction.Length = 0;
                return ParseResult.Invalid;
            }
            if (check == TlsRecordCheck.Partial || rest.Length - TlsRecordHeader.Size < header.Length)
            {
                return ParseResult.NeedMoreData(consumed);
            }
            int recordLength = TlsRecordHeader.Size + header.Length;
            if (header.Type != TlsRecordHeader.Handshake || direction.Done)
            {
                if (consumed > 0)
                {
                    return ParseResult.Ignored(consumed);
                }
                // Handshake messages are not interleaved with other records (RFC 8446 §5.1): a partial one is over.
                direction.Length = 0;
                return ParseResult.Ignored(recordLength);
            }
            if (direction.Length == 0)
            {
                direction.StartNs = context.StartNs;
            }
            consumed += recordLength;
            switch (Feed(direction, rest.Slice(TlsRecordHeader.Size, header.Length), context.NowNs))
            {
                case Outcome.Incomplete:
                    continue;
                case Outcome.ClientHello:
                case Outcome.HelloRetry:
                    return ParseResult.Success(consumed);
                case Outcome.ServerHello:
                    // The rest is encrypted: stop buffering both directions.
                    return ParseResult.EndOfStream(consumed);
                default:
                    return ParseResult.Ignored(consumed);
            }
        }
    }

    /// <summary>Adds a handshake record's fragment and reads the messages it completes.</summary>
    private Outcome Feed(Direction direction, ReadOnlySpan<byte> fragment, long nowNs)
    {
        ReadOnlySpan<byte> source;
        if (direction.Length == 0)
        {
            // Usually the whole hello is in one record: read it in place.
            source = fragment;
        }
        else
        {
            Grow(direction, direction.Length + fragment.Length);
            fragment.CopyTo(direction.Buffer.AsSpan(direction.Length));
            direction.Length += fragment.Length;
            source = direction.Buffer.AsSpan(0, direction.Length);
        }
        int offset = 0;
        while (source.Length - offset >= HandshakeHeader)
        {
            int length = (source[offset + 1] << 16) | (source[offset + 2] << 8) | source[offset + 3];
            if (length > MaxHandshakeMessage)
            {
                direction.Length = 0;
                direction.Done = true;
                return Outcome.GaveUp;
            }
            if (source.Length - offset - HandshakeHeader < length)
            {
                break;
            }
            byte type = source[offset];
            var body = source.Slice(offset + HandshakeHeader, length);
            offset += HandshakeHeader + length;
            var outcome = type switch
            {
                TlsHello.ClientHelloType => OnClientHello(direction, body),
                TlsHello.ServerHelloType => OnServerHello(direction, body, nowNs),
                // Any other message before the hello (after a gap, say) is skipped.
                _ => Outcome.Incomplete,
            };
            if (outcome != Outcome.Incomplete)
            {
                direction.Length = 0;
                return outcome;
            }
        }
        var tail = source[offset..];
        Grow(direction, tail.Length);
        tail.CopyTo(direction.Buffer);
        direction.Length = tail.Length;
        return Outcome.Incomplete;
    }

    private static void Grow(Direction direction, int needed)
    {
        if (needed > 0 && (direction.Buffer is null || direction.Buffer.Length < needed))
        {
            var bigger = new byte[Math.Max(needed, Math.Max(1024, 2 * (direction.Buffer?.Length ?? 0)))];
            direction.Buffer?.AsSpan(0, direction.Length).CopyTo(bigger);
            direction.Buffer = bigger;
        }
    }

    private Outcome OnClientHello(Direction direction, ReadOnlySpan<byte> body)
    {
        direction.Done = true;
        var hello = TlsHello.ReadClientHello(body);
        if (hello is null)
        {
            return Outcome.GaveUp;
        }
        // After a HelloRetryRequest the client says its hello again (RFC 8446 §4.1.4): the first one stands.
        if (_client is null)
        {
            _client = hello;
            _clientStartNs = direction.StartNs;
        }
        return Outcome.ClientHello;
    }

    private Outcome OnServerHello(Direction direction, ReadOnlySpan<byte> body, long nowNs)
    {
        if (TlsHello.ReadServerHello(body) is not { } hello)
        {
            direction.Done = true;
            return Outcome.GaveUp;
        }
        if (hello.IsRetry)
        {
            // RFC 8446 §4.1.4: the real ServerHello follows the client's second ClientHello.
            _helloRetry = true;
            return Outcome.HelloRetry;
        }
        direction.Done = true;
        _reported = true;
        sink.OnMessage(new TlsHandshake
        {
            Sni = _client?.Sni,
            OfferedAlpn = _client?.Alpn ?? [],
            ClientVersion = _client is null ? null : TlsHello.VersionName(_client.Version),
            Version = TlsHello.VersionName(hello.Version),
            Alpn = hello.Alpn,
            CipherSuite = hello.CipherSuite,
            HelloRetry = _helloRetry,
            StartNs = _client is null ? direction.StartNs : _clientStartNs,
            EndNs = nowNs,
        });
        return Outcome.ServerHello;
    }

    public int FindFrameBoundary(MessageKind kind, ReadOnlySpan<byte> data) => TlsRecordHeader.FindBoundary(data);

    /// <summary>A lost byte may be a record header: the partial message is dropped and records are found again.</summary>
    public bool OnGap(MessageKind kind, long bytes, long nowNs)
    {
        _directions[(int)kind].Length = 0;
        return _reported;
    }

    /// <summary>A ClientHello with no ServerHello (refused, reset, or not yet answered) is reported alone.</summary>
    public void OnClose(long nowNs)
    {
        if (_reported || _client is null)
        {
            return;
        }
        _reported = true;
        sink.OnMessage(new TlsHandshake
        {
            Sni = _client.Sni,
            OfferedAlpn = _client.Alpn,
            ClientVersion = TlsHello.VersionName(_client.Version),
            HelloRetry = _helloRetry,
            StartNs = _clientStartNs,
            EndNs = nowNs,
        });
    }
}
