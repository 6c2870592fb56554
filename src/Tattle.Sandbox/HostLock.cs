namespace Tattle.Sandbox;

/// <summary>
/// An exclusive lock on /run/tattle/sandbox.lock, held while a sandbox is set up or torn down: two tattles
/// starting at once must not pick the same name or /30, nor both think they restore ip_forward last.
/// </summary>
public sealed class HostLock : IDisposable
{
    private readonly FileStream _file;

    private HostLock(FileStream file) => _file = file;

    /// <summary>Waits for the lock (FileShare.None takes a flock on Unix; another holder makes the open fail).</summary>
    public static HostLock Acquire(TimeSpan? timeout = null)
    {
        Directory.CreateDirectory(SandboxState.Directory);
        string path = Path.Combine(SandboxState.Directory, "sandbox.lock");
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                return new HostLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
            catch (IOException)
            {
                throw new SandboxException($"another tattle holds {path} for more than 30 s");
            }
        }
    }

    public void Dispose() => _file.Dispose();
}
