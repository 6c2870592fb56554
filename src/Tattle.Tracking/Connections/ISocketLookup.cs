using Tattle.Capture.Events;

namespace Tattle.Tracking.Connections;

/// <summary>A socket that was open before tracing began, as /proc describes it.</summary>
public sealed record ExistingSocket(
    int Fd, string Proto, NetAddress Local, NetAddress Remote, string? LocalPath, string? RemotePath, string State)
{
    public bool IsListening => State == "LISTEN";
}

/// <summary>Describes sockets Tattle did not see being created (attach, inherited fds).</summary>
public interface ISocketLookup
{
    /// <summary>The sockets the process holds now.</summary>
    IReadOnlyList<ExistingSocket> ForProcess(int pid);
}

/// <summary>A lookup that knows nothing (tests, or when /proc is not readable).</summary>
public sealed class NoSocketLookup : ISocketLookup
{
    public IReadOnlyList<ExistingSocket> ForProcess(int pid) => [];
}
