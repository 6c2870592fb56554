using static Tattle.Protocols.Http1.HttpSyntax;

namespace Tattle.Protocols.Http1;

/// <summary>How a message's body is delimited (RFC 9112 section 6.3).</summary>
internal enum BodyMode : byte
{
    None,
    Length,
    Chunked,
    UntilClose,
}

internal enum BodyStatus : byte
{
    Complete,
    NeedMoreData,
    Invalid,
}

/// <summary>What a gap inside a body did to it.</summary>
internal enum BodyGap : byte
{
    /// <summary>The bytes fell inside the body; the reader is still in step.</summary>
    Absorbed,

    /// <summary>The bytes were exactly the rest of the body: it is complete and the reader in step.</summary>
    AbsorbedComplete,

    /// <summary>The body ended inside the gap; what followed it is lost.</summary>
    Overran,

    /// <summary>Where the body ends is unknown now (chunked framing was in the gap).</summary>
    Lost,
}

/// <summary>
/// Skips one body without buffering it: each call consumes what it can, so a large body never sits in memory.
/// Keeps the wire size, the first bytes up to a limit (de-chunked), and the bytes a gap hid.
/// </summary>
internal struct HttpBodyReader
{
    /// <summary>A chunk-size line (size and extensions) longer than this is not a real one.</summary>
    public const int MaxChunkLine = 4096;

    /// <summary>Chunks above 1 TiB are taken for garbage rather than counted (RFC 9112 section 7.1 lets a recipient limit them).</summary>
    public const long MaxChunkSize = 1L << 40;

    private enum Chunk : byte
    {
        Size,
        Data,
        DataEnd,
        Trailers,
    }

    private long _remaining;
    private Chunk _chunk;
    private int _trailerScan;
    private int _limit;
    private byte[]? _captured;
    private int _capturedLength;

    public BodyMode Mode { get; private set; }

    /// <summary>Bytes of the body as sent, chunked framing and trailers included, gaps included.</summary>
    public long WireBytes { get; private set; }

    public long UnseenBytes { get; private set; }

    /// <summary>The first body bytes, up to the capture limit (empty when the limit is 0).</summary>
    public readonly ReadOnlyMemory<byte> Captured => _captured.AsMemory(0, _capturedLength);

    /// <param name="mode">How the body ends.</param>
    /// <param name="length">The Content-Length, for <see cref="BodyMode.Length"/>.</param>
    /// <param name="captureLimit">Body bytes to keep (0: none).</param>
    public void Start(BodyMode mode, long length, int captureLimit)
    {
        this = default;
        Mode = mode;
        _remaining = mode == BodyMode.Length ? length : 0;
        _limit = Math.Max(0, captureLimit);
    }

    /// <summary>Reads what it can of the body from the front of <paramref name="data"/>.</summary>
    /// <param name="endOfStream">No bytes follow: ends a body delimited by the close.</param>
    /// <param name="trailers">Receives the trailer fields of a chunked body.</param>
    /// <param name="consumed">Bytes used up, also when the status is not <see cref="BodyStatus.Complete"/>.</param>
    public BodyStatus Read<T>(ReadOnlySpan<byte> data, bool endOfStream, ref T trailers, out int consumed)
        where T : struct, IHttpHeadHandler
    {
        switch (Mode)
        {
            case BodyMode.Length:
                consumed = (int)Math.Min(_remaining, data.Length);
                Take(data[..consumed]);
                _remaining -= consumed;
                return _remaining == 0 ? BodyStatus.Complete : BodyStatus.NeedMoreData;
            case BodyMode.UntilClose:
                consumed = data.Length;
                Take(data);
                return endOfStream ? BodyStatus.Complete : BodyStatus.NeedMoreData;
            case BodyMode.Chunked:
                return ReadChunked(data, ref trailers, out consumed);
            default:
                consumed = 0;
                return BodyStatus.Complete;
        }
    }

    /// <summary>
    /// Body bytes still to come that need only counting: the rest of a body of known length once the bytes kept of it
    /// (the capture limit) are in.
    /// </summary>
    public readonly long Skippable => Mode == BodyMode.Length && _capturedLength >= _limit ? _remaining : 0;

    /// <summary>Accounts for <paramref name="bytes"/> of this direction that will never be seen.</summary>
    /// <param name="counted">The bytes were left out at the parser's request (<see cref="Skippable"/>): body read, not unseen.</param>
    public BodyGap OnGap(long bytes, bool counted = false)
    {
        switch (Mode)
        {
            case BodyMode.Length when bytes <= _remaining:
                _remaining -= bytes;
                WireBytes += bytes;
                UnseenBytes += counted ? 0 : bytes;
                return _remaining == 0 ? BodyGap.AbsorbedComplete : BodyGap.Absorbed;
            case BodyMode.Length:
                WireBytes += _remaining;
                UnseenBytes += _remaining;
                _remaining = 0;
                return BodyGap.Overran;
            case BodyMode.UntilClose:
                WireBytes += bytes;
                UnseenBytes += bytes;
                return BodyGap.Absorbed;
            default:
                // Some of these bytes may lie past the body's end; nobody can tell how many.
                WireBytes += bytes;
                UnseenBytes += bytes;
                return BodyGap.Lost;
        }
    }

    /// <summary>chunked-body = *chunk last-chunk trailer-section CRLF (RFC 9112 section 7.1).</summary>
    private BodyStatus ReadChunked<T>(ReadOnlySpan<byte> data, ref T trailers, out int consumed)
        where T : struct, IHttpHeadHandler
    {
        int pos = 0;
        while (true)
        {
            var rest = data[pos..];
            switch (_chunk)
            {
                case Chunk.Size:
                    {
                        int lf = rest[..Math.Min(rest.Length, MaxChunkLine)].IndexOf(LF);
                        if (lf < 0)
                        {
                            consumed = pos;
                            return rest.Length >= MaxChunkLine ? BodyStatus.Invalid : BodyStatus.NeedMoreData;
                        }
                        if (!TryParseChunkSize(rest[..lf], out long size))
                        {
                            consumed = pos;
                            return BodyStatus.Invalid;
                        }
                        pos += lf + 1;
                        WireBytes += lf + 1;
                        _remaining = size;
                        _chunk = size == 0 ? Chunk.Trailers : Chunk.Data;
                        break;
                    }
                case Chunk.Data:
                    {
                        int n = (int)Math.Min(_remaining, rest.Length);
                        Take(rest[..n]);
                        pos += n;
                        _remaining -= n;
                        if (_remaining > 0)
                        {
                            consumed = pos;
                            return BodyStatus.NeedMoreData;
                        }
                        _chunk = Chunk.DataEnd;
                        break;
                    }
                case Chunk.DataEnd:
                    {
                        var end = LineEnd(rest);
                        if (end <= 0)
                        {
                            consumed = pos;
                            return end == 0 ? BodyStatus.NeedMoreData : BodyStatus.Invalid;
                        }
                        pos += end;
                        WireBytes += end;
                        _chunk = Chunk.Size;
                        break;
                    }
                default:
                    {
                        // The trailer section: field lines, then the empty line (RFC 9112 section 7.1.2).
                        int end = LineEnd(rest);
                        if (end < 0)
                        {
                            var search = HttpHeadParser.FindHeadEnd(rest, ref _trailerScan, out end);
                            if (search != HeadSearch.Complete)
                            {
                                consumed = pos;
                                return search == HeadSearch.Incomplete ? BodyStatus.NeedMoreData : BodyStatus.Invalid;
                            }
                            var ignored = HeadFraming.None;
                            if (!HttpHeadParser.TryParseFields(rest[..end], ref trailers, ref ignored))
                            {
                                consumed = pos;
                                return BodyStatus.Invalid;
                            }
                        }
                        else if (end == 0)
                        {
                            consumed = pos;
                            return BodyStatus.NeedMoreData;
                        }
                        consumed = pos + end;
                        WireBytes += end;
                        return BodyStatus.Complete;
                    }
            }
        }
    }

    /// <summary>The length of a CRLF (or bare LF) at the front; 0 if too few bytes to tell; -1 if something else.</summary>
    private static int LineEnd(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return 0;
        }
        if (data[0] == LF)
        {
            return 1;
        }
        if (data[0] != CR)
        {
            return -1;
        }
        if (data.Length < 2)
        {
            return 0;
        }
        return data[1] == LF ? 2 : -1;
    }

    /// <summary>chunk-size [ chunk-ext ] (RFC 9112 sections 7.1, 7.1.1): extensions are skipped, not read.</summary>
    private static bool TryParseChunkSize(ReadOnlySpan<byte> line, out long size)
    {
        size = 0;
        if (!line.IsEmpty && line[^1] == CR)
        {
            line = line[..^1];
        }
        int i = 0;
        for (; i < line.Length; i++)
        {
            int digit = HexValue(line[i]);
            if (digit < 0)
            {
                break;
            }
            size = (size << 4) | (uint)digit;
            if (size > MaxChunkSize)
            {
                return false;
            }
        }
        if (i == 0)
        {
            return false;
        }
        var ext = line[i..];
        int extStart = ext.IndexOfAnyExcept(SP, HTAB);
        // After BWS only ";" may follow; a size followed by trailing whitespace alone is tolerated.
        return extStart < 0 || (ext[extStart] == Semicolon && ext.IndexOfAny(ValueForbidden) < 0);
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>Counts body bytes and keeps the first ones, up to the limit.</summary>
    private void Take(ReadOnlySpan<byte> bytes)
    {
        WireBytes += bytes.Length;
        if (_capturedLength >= _limit || bytes.IsEmpty)
        {
            return;
        }
        int n = Math.Min(bytes.Length, _limit - _capturedLength);
        if (_captured is null || _captured.Length < _capturedLength + n)
        {
            // Sized to what a Content-Length promises (_remaining still counts these bytes), else grown as bytes come: a small body costs little.
            long want = Mode == BodyMode.Length ? _capturedLength + _remaining : Math.Max(1024, 2L * (_capturedLength + n));
            var grown = new byte[(int)Math.Min(_limit, Math.Max(want, _capturedLength + n))];
            _captured?.AsSpan(0, _capturedLength).CopyTo(grown);
            _captured = grown;
        }
        bytes[..n].CopyTo(_captured.AsSpan(_capturedLength));
        _capturedLength += n;
    }
}
