using System.Buffers.Binary;
using System.Text;
using Tattle.Capture.Elf;

namespace Tattle.Capture.Tls.Go;

/// <summary>Reads the Go toolchain version the linker wrote into `.go.buildinfo` (layout of Go's debug/buildinfo).</summary>
internal static class GoBuildInfo
{
    internal const string SectionName = ".go.buildinfo";

    private const int HeaderSize = 32;
    private const byte FlagBigEndian = 1;
    private const byte FlagInlineStrings = 2;

    // Versions are short ("go1.19.8", "devel go1.23-abcdef +…"); anything longer is not a version string.
    private const int MaxVersionBytes = 256;

    // "\xff Go buildinf:" (14 bytes), written as bytes: a C# "\xff" would become a two-byte UTF-8 sequence.
    private static ReadOnlySpan<byte> Magic => [0xff, 0x20, 0x47, 0x6f, 0x20, 0x62, 0x75, 0x69, 0x6c, 0x64, 0x69, 0x6e, 0x66, 0x3a];

    /// <summary>The version string, or null with <paramref name="reason"/> when the section is absent or unreadable.</summary>
    internal static string? TryReadVersion(ElfFile elf, out string reason)
    {
        if (!elf.TryFindSection(SectionName, out var section))
        {
            reason = "no .go.buildinfo section";
            return null;
        }
        Span<byte> header = stackalloc byte[HeaderSize];
        if (section.Size < HeaderSize || !elf.TryRead(header, section.Offset) || !header[..Magic.Length].SequenceEqual(Magic))
        {
            reason = ".go.buildinfo has no build-info header";
            return null;
        }
        int ptrSize = header[14];
        byte flags = header[15];
        if ((flags & FlagInlineStrings) != 0)
        {
            // Go 1.18+: varint-length-prefixed strings follow the header directly.
            return ReadInline(elf, section.Offset + HeaderSize, section.Offset + section.Size, out reason);
        }
        if (ptrSize != 8 || (flags & FlagBigEndian) != 0)
        {
            reason = $".go.buildinfo with {ptrSize}-byte pointers{((flags & FlagBigEndian) != 0 ? ", big-endian" : "")} is not supported";
            return null;
        }
        // Before Go 1.18: the header holds the address of a Go string header (pointer, length) for the version.
        ulong versionAddress = BinaryPrimitives.ReadUInt64LittleEndian(header[16..]);
        Span<byte> stringHeader = stackalloc byte[16];
        if (!ReadAt(elf, versionAddress, stringHeader))
        {
            reason = "the version's string header is outside the file";
            return null;
        }
        ulong data = BinaryPrimitives.ReadUInt64LittleEndian(stringHeader);
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(stringHeader[8..]);
        if (length == 0 || length > MaxVersionBytes)
        {
            reason = $"implausible version length {length}";
            return null;
        }
        Span<byte> text = stackalloc byte[(int)length];
        if (!ReadAt(elf, data, text))
        {
            reason = "the version string is outside the file";
            return null;
        }
        reason = "";
        return Encoding.UTF8.GetString(text);
    }

    private static string? ReadInline(ElfFile elf, ulong offset, ulong end, out string reason)
    {
        Span<byte> buffer = stackalloc byte[10 + MaxVersionBytes];
        int available = (int)Math.Min((ulong)buffer.Length, end - offset);
        if (!elf.TryRead(buffer[..available], offset))
        {
            reason = "cannot read .go.buildinfo";
            return null;
        }
        var bytes = buffer[..available];
        ulong length = 0;
        int shift = 0;
        int at = 0;
        while (true)
        {
            if (at >= bytes.Length || shift > 63)
            {
                reason = "bad version length in .go.buildinfo";
                return null;
            }
            byte b = bytes[at++];
            length |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }
            shift += 7;
        }
        if (length == 0 || length > (ulong)(bytes.Length - at))
        {
            reason = $"implausible version length {length}";
            return null;
        }
        reason = "";
        return Encoding.UTF8.GetString(bytes.Slice(at, (int)length));
    }

    private static bool ReadAt(ElfFile elf, ulong address, Span<byte> into) =>
        elf.TryGetFileOffset(address, out ulong offset) && elf.TryGetFileOffset(address + (ulong)into.Length - 1, out _) && elf.TryRead(into, offset);
}
