using Microsoft.Win32.SafeHandles;

namespace Tattle.Capture.Elf;

/// <summary>Positioned reads from a file or from memory, so the parser never needs the whole object in memory.</summary>
internal abstract class ElfSource : IDisposable
{
    /// <summary>The length in bytes.</summary>
    public abstract long Length { get; }

    /// <summary>Reads up to buffer.Length bytes at <paramref name="offset"/>; fewer only at the end of the source.</summary>
    /// <exception cref="IOException">The file could not be read.</exception>
    public abstract int Read(Span<byte> buffer, long offset);

    /// <summary>True when [offset, offset+count) lies inside the source (and does not overflow).</summary>
    public bool Contains(ulong offset, ulong count) => offset <= (ulong)Length && count <= (ulong)Length - offset;

    public virtual void Dispose()
    {
    }

    /// <summary>Reads exactly buffer.Length bytes; false when the source ends first.</summary>
    public bool ReadExactly(Span<byte> buffer, long offset) => ReadUpTo(buffer, offset) == buffer.Length;

    /// <summary>Reads until the buffer is full or the source ends; returns the count read.</summary>
    public int ReadUpTo(Span<byte> buffer, long offset)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = Read(buffer[total..], offset + total);
            if (n <= 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }
}

/// <summary>A file read with pread (RandomAccess): only the ranges asked for are read.</summary>
internal sealed class FileElfSource(SafeFileHandle handle, bool ownsHandle) : ElfSource
{
    private readonly long _length = RandomAccess.GetLength(handle);

    public override long Length => _length;

    public override int Read(Span<byte> buffer, long offset) =>
        offset >= _length ? 0 : RandomAccess.Read(handle, buffer, offset);

    public override void Dispose()
    {
        if (ownsHandle)
        {
            handle.Dispose();
        }
    }
}

/// <summary>Bytes already in memory (tests feed prefixes and random bytes through the same parser).</summary>
internal sealed class MemoryElfSource(ReadOnlyMemory<byte> bytes) : ElfSource
{
    public override long Length => bytes.Length;

    public override int Read(Span<byte> buffer, long offset)
    {
        if (offset >= bytes.Length)
        {
            return 0;
        }
        var available = bytes.Span[(int)offset..];
        int n = Math.Min(available.Length, buffer.Length);
        available[..n].CopyTo(buffer);
        return n;
    }
}
