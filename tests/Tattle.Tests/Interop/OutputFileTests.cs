using Tattle.Interop;

namespace Tattle.Tests.Interop;

/// <summary>Files Tattle writes are private, never written through a symbolic link, and devices are left as they are.</summary>
public sealed class OutputFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tattle-out-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void NewFile_Is0600()
    {
        string path = Path.Combine(_dir, "new.jsonl");
        using (var file = OutputFile.Create(path))
        {
            file.Write("x"u8);
        }
        Assert.Equal(OutputFile.Mode, File.GetUnixFileMode(path));
        Assert.Equal("x", File.ReadAllText(path));
    }

    [Fact]
    public void ExistingWorldReadableFile_IsMadePrivateAndTruncated()
    {
        string path = Path.Combine(_dir, "old.jsonl");
        File.WriteAllText(path, "old secrets");
        File.SetUnixFileMode(path, (UnixFileMode)0x1B6); // 0666
        using (OutputFile.Create(path))
        {
        }
        Assert.Equal(OutputFile.Mode, File.GetUnixFileMode(path));
        Assert.Equal(0, new FileInfo(path).Length);
    }

    [Fact]
    public void SymbolicLinkAtThePath_IsRefused_AndItsTargetUntouched()
    {
        string victim = Path.Combine(_dir, "victim");
        File.WriteAllText(victim, "keep");
        string link = Path.Combine(_dir, "out.pcapng");
        File.CreateSymbolicLink(link, victim);
        var e = Assert.Throws<IOException>(() => OutputFile.Create(link));
        Assert.Contains("is a symbolic link", e.Message);
        Assert.Equal("keep", File.ReadAllText(victim));
        // A dangling link (to a file root would create) is refused too.
        string dangling = Path.Combine(_dir, "dangling");
        File.CreateSymbolicLink(dangling, Path.Combine(_dir, "created-by-root"));
        Assert.Throws<IOException>(() => OutputFile.Create(dangling));
        Assert.False(File.Exists(Path.Combine(_dir, "created-by-root")));
    }

    [Fact]
    public void ADevice_IsWrittenWithoutChangingItsMode()
    {
        var before = File.GetUnixFileMode("/dev/null");
        using (var file = OutputFile.Create("/dev/null"))
        {
            file.Write("x"u8);
        }
        Assert.Equal(before, File.GetUnixFileMode("/dev/null"));
    }

    [Fact]
    public void PrivateDirectory_Is0700()
    {
        string path = Path.Combine(_dir, "a", "b");
        OutputFile.CreatePrivateDirectory(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
    }
}
