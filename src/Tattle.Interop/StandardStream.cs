using System.Runtime.InteropServices;

namespace Tattle.Interop;

/// <summary>
/// Standard output and error as plain write(2)s. System.Console's streams initialise the console on their first
/// write to a terminal, and that switches the terminal to keypad-transmit mode (ESC[?1h ESC=) and back again
/// after every child that exits, and nothing resets it: Tattle never needs the console, only its descriptors.
/// Like the console's streams, a closed pipe (EPIPE: `tattle sockets | head`) discards what is written.
/// </summary>
public sealed unsafe partial class StandardStream : Stream
{
    private const short POLLOUT = 4;

    private readonly int _fd;

    private StandardStream(int fd) => _fd = fd;

    /// <summary>File descriptor 1.</summary>
    public static Stream Output { get; } = new StandardStream(1);

    /// <summary>File descriptor 2.</summary>
    public static Stream Error { get; } = new StandardStream(2);

    /// <summary>A text writer on standard error that writes each call through (error messages are few).</summary>
    public static TextWriter ErrorWriter { get; } = new StreamWriter(Error, new System.Text.UTF8Encoding(false), 1024, leaveOpen: true) { AutoFlush = true };

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                nint n = WriteFd(_fd, p + done, (nuint)(buffer.Length - done));
                if (n >= 0)
                {
                    done += (int)n;
                    continue;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                {
                    continue;
                }
                if (errno == Errno.EAGAIN)
                {
                    // A descriptor inherited non-blocking: wait until it takes more.
                    var poll = new PollFd { Fd = _fd, Events = POLLOUT };
                    _ = Poll(&poll, 1, -1);
                    continue;
                }
                if (errno == Errno.EPIPE)
                {
                    return;
                }
                throw new IOException($"write to fd {_fd}: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
        }
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    // Disposing a writer over one of these must not close fd 1 or 2.
    protected override void Dispose(bool disposing)
    {
    }

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteFd(int fd, byte* buffer, nuint count);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(PollFd* fds, nuint count, int timeoutMs);
}
