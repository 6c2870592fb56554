using System.Globalization;
using System.Runtime.InteropServices;

namespace Tattle.Interop;

/// <summary>
/// The width of the terminal Tattle writes to, without System.Console: asking the console for its size
/// initialises it, and that puts the terminal in keypad-transmit mode (ESC[?1h ESC=) that nothing resets.
/// </summary>
public static unsafe partial class TerminalSize
{
    private const uint TIOCGWINSZ = 0x5413;

    /// <summary>$COLUMNS when it is a positive number, else the width of the terminal on <paramref name="fd"/>; null when neither says.</summary>
    public static int? Columns(int fd)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), NumberStyles.None, CultureInfo.InvariantCulture, out int columns) && columns > 0)
        {
            return columns;
        }
        ushort* size = stackalloc ushort[4];
        return IoctlWinSize(fd, TIOCGWINSZ, size) == 0 && size[1] > 0 ? size[1] : null;
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoctlWinSize(int fd, nuint request, ushort* winsize);
}
