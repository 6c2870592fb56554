namespace Tattle.Tests.Capture;

public class PlaceholderTests
{
    [Fact]
    public void ProcIsMounted() => Assert.True(Directory.Exists("/proc/self/fd"));
}
