namespace Tattle.Tests.Support;

/// <summary>The .NET programs under tests/ that the end-to-end tests trace, built with the test project.</summary>
public static class DotnetTestProgram
{
    /// <summary>The newest build of tests/NAME/NAME.dll.</summary>
    public static string Find(string name)
    {
        var bin = new DirectoryInfo(Path.Combine(Repo.Root, "tests", name, "bin"));
        var built = bin.Exists ? bin.EnumerateFiles(name + ".dll", SearchOption.AllDirectories).OrderByDescending(f => f.LastWriteTimeUtc).FirstOrDefault() : null;
        return built?.FullName ?? throw new FileNotFoundException($"tests/{name} is built with the tests: build tests/Tattle.Tests");
    }
}

/// <summary>tests/DbClients: Npgsql and StackExchange.Redis driven as .NET programs use them, built with the tests.</summary>
public static class DbClients
{
    public static string Dll { get; } = DotnetTestProgram.Find("DbClients");

    public static string[] Command(params string[] args) => ["dotnet", Dll, .. args];
}
