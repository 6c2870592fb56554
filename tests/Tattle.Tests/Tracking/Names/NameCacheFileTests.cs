using System.Net;
using Tattle.Tracking.Names;

namespace Tattle.Tests.Tracking.Names;

/// <summary>The names file kept between runs for `tattle sockets`.</summary>
public sealed class NameCacheFileTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"tattle-names-test-{Guid.NewGuid():N}", "names.tsv");

    public void Dispose()
    {
        if (Directory.Exists(Path.GetDirectoryName(_path)))
        {
            Directory.Delete(Path.GetDirectoryName(_path)!, recursive: true);
        }
    }

    private static AddressNames Names(params (string Address, string Name)[] entries)
    {
        var names = new AddressNames();
        foreach (var (address, name) in entries)
        {
            names.Add(address, name);
        }
        return names;
    }

    [Fact]
    public void MergeKeepsEarlierRunsNamesAndTheNewestWins()
    {
        Assert.True(NameCacheFile.Merge(_path, Names(("10.1.2.3", "old.example"), ("fd00::3", "v6.example")), 1_000));
        Assert.True(NameCacheFile.Merge(_path, Names(("10.1.2.3", "new.example"), ("10.9.9.9", "other.example")), 2_000));
        var entries = NameCacheFile.Load(_path, 2_000);
        Assert.Equal(("new.example", 2_000L), entries["10.1.2.3"]);
        Assert.Equal(("v6.example", 1_000L), entries["fd00::3"]);
        Assert.Equal(3, entries.Count);
    }

    [Fact]
    public void TheFileIsPrivate_InAPrivateDirectory()
    {
        Assert.True(NameCacheFile.Merge(_path, Names(("10.1.2.3", "a.example")), 1_000));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(_path)!));
        // A file left world-readable by an older version is replaced by a private one.
        File.SetUnixFileMode(_path, (UnixFileMode)0x1A4); // 0644
        Assert.True(NameCacheFile.Merge(_path, Names(("10.1.2.4", "b.example")), 1_000));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_path));
    }

    [Fact]
    public void EntriesExpireAWeekAfterTheyWereLastSeen()
    {
        NameCacheFile.Merge(_path, Names(("10.1.2.3", "a.example")), 1_000);
        long week = (long)TimeSpan.FromDays(7).TotalSeconds;
        Assert.Single(NameCacheFile.Load(_path, 1_000 + week));
        Assert.Empty(NameCacheFile.Load(_path, 1_000 + week + 1));
    }

    [Fact]
    public void BadLinesAndNamesThatWouldBreakTheFormatAreDropped()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        File.WriteAllText(_path, "not an address\tx\t5\n10.0.0.1\tok.example\t5\n10.0.0.2\t\t5\n10.0.0.3\tno-time\n10.0.0.4\tbad\tx\n");
        Assert.Equal(["10.0.0.1"], NameCacheFile.Load(_path, 10).Keys);
        NameCacheFile.Merge(_path, Names(("10.0.0.5", "evil\tname"), ("10.0.0.6", "line\nbreak")), 10);
        Assert.Equal(["10.0.0.1"], NameCacheFile.Load(_path, 10).Keys);
    }

    [Fact]
    public void MissingOrUnwritableFileMeansNoNamesNotAnError()
    {
        Assert.Empty(NameCacheFile.Load("/nonexistent/dir/names.tsv", 0));
        Assert.False(NameCacheFile.Merge("/proc/version/names.tsv", Names(("10.0.0.1", "a")), 0));
    }

    [Fact]
    public void LookupNamesV4MappedAddressesToo()
    {
        NameCacheFile.Merge(_path, Names(("10.1.2.3", "a.example")), 1_000);
        var names = new CachedAddressNames(() => NameCacheFile.Load(_path, 1_000));
        Assert.Equal("a.example", names.NameOf(IPAddress.Parse("10.1.2.3")));
        Assert.Equal("a.example", names.NameOf(IPAddress.Parse("::ffff:10.1.2.3")));
        Assert.Null(names.NameOf(IPAddress.Parse("10.1.2.4")));
    }
}
