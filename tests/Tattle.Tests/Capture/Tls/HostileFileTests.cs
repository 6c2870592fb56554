using System.Diagnostics;
using Tattle.Capture.Elf;
using Tattle.Capture.Tls;

namespace Tattle.Tests.Capture.Tls;

/// <summary>
/// Paths a traced process controls (its mappings, files in its mount namespace) may name a FIFO: examining one must
/// neither block nor read it.
/// </summary>
public sealed class HostileFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tattle-hostile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Fifo(string name)
    {
        string path = Path.Combine(_dir, name);
        using var mkfifo = Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    // Opening a FIFO with no writer blocks for good: the work runs on a thread of its own so a failure is a timeout.
    private static T Within<T>(Func<T> work)
    {
        var task = Task.Factory.StartNew(work, TaskCreationOptions.LongRunning);
        Assert.True(task.Wait(TimeSpan.FromSeconds(5)), "blocked on the FIFO");
        return task.Result;
    }

    [Fact]
    public void AFifoNamedLikeATlsLibrary_IsReportedUnreadable_WithoutBlocking()
    {
        string fifo = Fifo("libssl.so.3");
        var scan = Within(() => TlsLibraries.ForExecutable(fifo));
        var unreadable = Assert.Single(scan.Unreadable);
        Assert.Equal((fifo, "not a regular file"), (unreadable.Path, unreadable.Reason));
        Assert.Empty(scan.Targets);
    }

    [Fact]
    public void TheSystemScan_SkipsAFifoAmongTheLibraries()
    {
        Fifo("libssl.so.9");
        var scan = Within(() => TlsLibraries.System([_dir]));
        Assert.Empty(scan.Targets);
    }

    [Fact]
    public void ElfFile_OnAFifo_IsAnIoError_WithoutBlocking()
    {
        string fifo = Fifo("a.out");
        var (status, file) = Within(() => (ElfFile.Open(fifo, out var f), f));
        Assert.Equal(ElfStatus.IoError, status);
        Assert.Null(file);
    }

    [Fact]
    public void ADirectory_IsNotARegularFile()
    {
        var scan = Within(() => TlsLibraries.ForExecutable(_dir));
        Assert.Equal("not a regular file", Assert.Single(scan.Unreadable).Reason);
    }
}
