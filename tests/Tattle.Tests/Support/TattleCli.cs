using System.Diagnostics;
using System.Text.Json;

namespace Tattle.Tests.Support;

/// <summary>The outcome of running the real tattle CLI.</summary>
public sealed record TattleResult(int ExitCode, string Stdout, string Stderr, IReadOnlyList<JsonElement> Records)
{
    public IEnumerable<JsonElement> OfType(string type) => Records.Where(r => r.GetProperty("type").GetString() == type);

    public JsonElement Summary => OfType("summary").Single();

    public override string ToString() => $"exit {ExitCode}\nstderr:\n{Stderr}\nstdout:\n{Stdout}";
}

/// <summary>Runs the built tattle (tattle.dll beside the tests) as a separate process, like a user would.</summary>
public static class TattleCli
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "tattle.dll");

    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return psi;
    }

    /// <summary>Runs tattle with the given arguments; --json is added (to a temp file) unless present.</summary>
    public static async Task<TattleResult> RunAsync(IReadOnlyList<string> args, TimeSpan? timeout = null, bool json = true)
    {
        string? jsonPath = null;
        var all = new List<string>(args);
        if (json && !all.Contains("--json"))
        {
            jsonPath = Path.Combine(Path.GetTempPath(), $"tattle-test-{Guid.NewGuid():N}.jsonl");
            // Options go before "--" (everything after it is the traced command).
            int dashes = all.IndexOf("--");
            all.InsertRange(dashes < 0 ? Math.Min(1, all.Count) : dashes, ["--json", jsonPath]);
        }
        using var process = Process.Start(StartInfo(all))!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"tattle {string.Join(' ', all)} did not finish:\n{await stderr}");
        }
        var records = jsonPath is not null && File.Exists(jsonPath) ? ReadJsonLines(jsonPath) : [];
        if (jsonPath is not null)
        {
            File.Delete(jsonPath);
        }
        return new TattleResult(process.ExitCode, await stdout, await stderr, records);
    }

    /// <summary>Parses a JSON Lines file; every line must be a complete JSON object.</summary>
    public static List<JsonElement> ReadJsonLines(string path)
    {
        var list = new List<JsonElement>();
        foreach (var line in File.ReadLines(path))
        {
            using var doc = JsonDocument.Parse(line);
            list.Add(doc.RootElement.Clone());
        }
        return list;
    }
}
