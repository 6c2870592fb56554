namespace Tattle.Tests.Support;

/// <summary>Paths in the repository the tests were built from.</summary>
public static class Repo
{
    /// <summary>The directory holding Tattle.slnx.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Tattle.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
