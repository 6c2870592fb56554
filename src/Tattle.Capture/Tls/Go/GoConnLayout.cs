using System.Globalization;
using System.Text.RegularExpressions;

namespace Tattle.Capture.Tls.Go;

/// <summary>
/// Where a <c>crypto/tls.Conn</c>'s socket descriptor is, as byte offsets along
/// <c>tls.Conn.conn</c> (a <c>net.Conn</c> interface) → <c>*net.TCPConn</c> → <c>*net.netFD</c> → <c>poll.FD.Sysfd</c>.
/// </summary>
/// <param name="ConnInterface">Offset of the <c>conn net.Conn</c> field in <c>tls.Conn</c>; the interface's data pointer is 8 bytes further.</param>
/// <param name="NetFd">Offset of <c>fd *netFD</c> in <c>net.TCPConn</c> (its embedded <c>conn</c>; the same in UnixConn, UDPConn and IPConn).</param>
/// <param name="SysFd">Offset of <c>pfd.Sysfd</c> in <c>net.netFD</c>.</param>
public sealed partial record GoConnLayout(ushort ConnInterface, ushort NetFd, ushort SysFd)
{
    /// <summary>
    /// The layout of every Go release from 1.17 on (checked against 1.17 to 1.23 sources, and by the tests with
    /// reflection on the installed toolchain): <c>conn</c> is tls.Conn's first field, <c>fd</c> the only field of
    /// net's <c>conn</c>, <c>pfd</c> netFD's first and <c>Sysfd</c> follows poll's 16-byte <c>fdMutex</c>.
    /// </summary>
    public static readonly GoConnLayout Go117 = new(0, 0, 16);

    /// <summary>
    /// The layout for a toolchain version (<c>go1.19.8</c>), or null with the reason when the binary cannot be
    /// probed: before 1.17 Go passed arguments on the stack, which the probes do not read.
    /// </summary>
    public static GoConnLayout? For(string? version, out string reason)
    {
        if (version is null)
        {
            reason = "Go version unknown (no readable build info): the register ABI (Go 1.17+) cannot be assumed";
            return null;
        }
        var m = Release().Match(version);
        if (!m.Success)
        {
            reason = $"unrecognised Go version {version}";
            return null;
        }
        int major = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        int minor = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        if (major == 1 && minor < 17)
        {
            reason = $"{version} passes arguments on the stack (register ABI from Go 1.17): not probed";
            return null;
        }
        reason = "";
        return Go117;
    }

    // "go1.19.8", "go1.21rc2", "go1.22.0 X:boringcrypto", "devel go1.23-abc": the release numbers are what count.
    [GeneratedRegex(@"go(\d+)\.(\d+)")]
    private static partial Regex Release();
}
