using System.Buffers;
using System.Buffers.Binary;

namespace Tattle.Report;

/// <summary>What a file given to report, diff or rules holds, from its first bytes.</summary>
public enum InputKind
{
    /// <summary>JSON Lines (tattle run --json) or a report's JSON (report --json): starts with '{'.</summary>
    Json,

    /// <summary>pcap or pcapng.</summary>
    Capture,

    /// <summary>Anything else: read as a policy where one is accepted.</summary>
    Other,

    Empty,
}

/// <summary>Reads trace files into an <see cref="InventoryBuilder"/>, a line at a time from one pooled buffer.</summary>
public static class TraceInput
{
    private const int InitialBuffer = 1 << 20;

    public static InputKind Detect(Stream stream)
    {
        Span<byte> head = stackalloc byte[512];
        int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..n];
        if (n >= 4)
        {
            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(head);
            if (magic is 0xa1b2c3d4 or 0xd4c3b2a1 or 0xa1b23c4d or 0x4d3cb2a1 or 0x0a0d0d0a)
            {
                return InputKind.Capture;
            }
        }
        foreach (byte b in head)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                continue;
            }
            return b == (byte)'{' ? InputKind.Json : InputKind.Other;
        }
        return n == 0 ? InputKind.Empty : InputKind.Other;
    }

    /// <summary>
    /// Feeds every line of <paramref name="stream"/> to <paramref name="builder"/>. A line longer than the buffer
    /// grows it (a record is at most a few hundred KiB: --body-limit bodies); memory stays that of the longest line.
    /// </summary>
    public static void ReadJsonLines(Stream stream, InventoryBuilder builder)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
        try
        {
            int start = 0, end = 0;
            while (true)
            {
                int read = stream.Read(buffer, end, buffer.Length - end);
                if (read == 0)
                {
                    break;
                }
                end += read;
                int scan = start;
                while (Array.IndexOf(buffer, (byte)'\n', scan, end - scan) is int nl and >= 0)
                {
                    builder.AddLine(buffer.AsSpan(start, nl - start));
                    start = nl + 1;
                    scan = start;
                }
                if (start == 0 && end == buffer.Length)
                {
                    byte[] bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, end).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                else if (start > 0)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }
            }
            if (end > start)
            {
                builder.AddLine(buffer.AsSpan(start, end - start)); // a last line without its newline
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
