using Tattle.Capture.Events;
using Tattle.Capture.Proc;

namespace Tattle.Tracking.Connections;

/// <summary>
/// Describes a process's sockets from /proc (the `tattle sockets` table), one entry per fd. /proc names tables by
/// family ("tcp6", "udp6"); records name the protocol only ("tcp", "udp"), so the suffix is dropped here, once.
/// </summary>
public sealed class ProcSocketLookup : ISocketLookup
{
    public IReadOnlyList<ExistingSocket> ForProcess(int pid)
    {
        var result = new List<ExistingSocket>();
        foreach (var row in SocketTable.ForProcess(pid))
        {
            var local = row.Local is { } l ? NetAddress.FromEndPoint(l) : default;
            var remote = row.Remote is { } r ? NetAddress.FromEndPoint(r) : default;
            foreach (int fd in row.Fds)
            {
                result.Add(new ExistingSocket(fd, row.Protocol.TrimEnd('6'), local, remote, row.UnixPath, row.UnixPeerPath, row.State));
            }
        }
        return result;
    }
}
