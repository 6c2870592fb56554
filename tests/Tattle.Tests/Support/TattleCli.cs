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

/// <summary>
/// Runs tattle as a separate process, like a user would: the native build ./test makes first ($TATTLE_TEST_BINARY),
/// or else the tattle.dll built beside the tests (dotnet test on its own).
/// </summary>
public static class TattleCli
{
    public static string Dll => Environment.GetEnvironmentVariable("TATTLE_TEST_BINARY") is { Length: > 0 } built
        ? built : Path.Combine(AppContext.BaseDirectory, "tattle.dll");

    /// <summary>The name cache file (TATTLE_NAME_CACHE) every tattle started by this test run shares.</summary>
    public static readonly string NameCachePath = Path.Combine(Path.GetTempPath(), $"tattle-names-{Environment.ProcessId}.tsv");

    /// <summary>The command line that runs tattle with <paramref name="args"/>: the program first.</summary>
    public static IReadOnlyList<string> CommandLine(IEnumerable<string> args) =>
        Dll.EndsWith(".dll", StringComparison.Ordinal) ? ["dotnet", Dll, .. args] : [Dll, .. args];

    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        bool native = !Dll.EndsWith(".dll", StringComparison.Ordinal);
        var psi = new ProcessStartInfo(native ? Dll : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        // Each test run keeps its own name cache, so tests neither read a developer's nor leave names behind.
        psi.Environment["TATTLE_NAME_CACHE"] = NameCachePath;
        foreach (var (name, value) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }
        if (!native)
        {
            psi.ArgumentList.Add(Dll);
        }
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return psi;
    }

    /// <summary>Runs tattle with the given arguments; --json is added (to a temp file) unless present.</summary>
    public static async Task<TattleResult> RunAsync(IReadOnlyList<string> args, TimeSpan? timeout = null, bool json = true,
        IReadOnlyDictionary<string, string>? env = null)
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
        using var process = Process.Start(StartInfo(all, env))!;
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

    /// <summary>Starts tattle in the background (JSON Lines to a temp file); stop it with <see cref="TattleRun.StopAsync"/>.</summary>
    public static TattleRun Start(IReadOnlyList<string> args)
    {
        var jsonPath = Path.Combine(Path.GetTempPath(), $"tattle-test-{Guid.NewGuid():N}.jsonl");
        var all = new List<string>(args);
        int dashes = all.IndexOf("--");
        all.InsertRange(dashes < 0 ? Math.Min(1, all.Count) : dashes, ["--json", jsonPath]);
        var process = Process.Start(StartInfo(all))!;
        process.StandardInput.Close();
        return new TattleRun(process, jsonPath, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
    }

    /// <summary>
    /// Waits until <paramref name="tattle"/>, writing JSON Lines to <paramref name="jsonPath"/>, has written
    /// <paramref name="count"/> records of <paramref name="type"/> (it flushes every 0.1 s): e.g. the process.start
    /// records of attach, written once the processes are traced and probed, however long the start took.
    /// </summary>
    public static async Task WaitForRecordsAsync(Process tattle, string jsonPath, string type, int count, Task<string> stderr, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        string needle = $"\"type\":\"{type}\"";
        while (true)
        {
            int seen = 0;
            if (File.Exists(jsonPath))
            {
                using var reader = new StreamReader(new FileStream(jsonPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
                while (await reader.ReadLineAsync() is { } line)
                {
                    seen += line.Contains(needle, StringComparison.Ordinal) ? 1 : 0;
                }
            }
            if (seen >= count)
            {
                return;
            }
            if (tattle.HasExited || DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"tattle wrote {seen} of {count} {type} records:\n{(tattle.HasExited ? await stderr : "")}");
            }
            await Task.Delay(50);
        }
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

/// <summary>A tattle started in the background; SIGTERM ends it as Ctrl-C would a user's.</summary>
public sealed class TattleRun(Process process, string jsonPath, Task<string> stdout, Task<string> stderr) : IDisposable
{
    public int Pid => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>
    /// Waits until tattle has written <paramref name="count"/> records of <paramref name="type"/> (it flushes every
    /// 0.1 s): e.g. the process.start records of attach, written once the processes are traced and probed.
    /// </summary>
    public Task WaitForRecordsAsync(string type, int count, TimeSpan? timeout = null) =>
        TattleCli.WaitForRecordsAsync(process, jsonPath, type, count, stderr, timeout);

    /// <summary>Sends SIGTERM, waits for tattle to flush and exit, and reads what it wrote.</summary>
    public async Task<TattleResult> StopAsync(TimeSpan? timeout = null)
    {
        if (!process.HasExited)
        {
            Tattle.Interop.Libc.Kill(process.Id, 15);
        }
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"tattle did not stop on SIGTERM:\n{await stderr}");
        }
        var records = File.Exists(jsonPath) ? TattleCli.ReadJsonLines(jsonPath) : [];
        File.Delete(jsonPath);
        return new TattleResult(process.ExitCode, await stdout, await stderr, records);
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
        process.Dispose();
        File.Delete(jsonPath);
    }
}
