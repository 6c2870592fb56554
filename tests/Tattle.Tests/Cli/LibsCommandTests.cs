using System.Globalization;
using System.Text.Json;
using Tattle.Capture.Elf;
using Tattle.Tests.Capture.Elf;
using Tattle.Tests.Capture.Libs;
using Tattle.Tests.Support;

namespace Tattle.Tests.Cli;

/// <summary>`tattle libs` as a user runs it: the table and the JSON Lines records documented in docs/probe.md.</summary>
public class LibsCommandTests(ITestOutputHelper output)
{
    private const string Libssl = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
    private const string Python = "/usr/bin/python3.11";

    [SkippableFact]
    public async Task Json_HasAnObjectRecordThenItsSymbols()
    {
        Requires.FileFrom(output, Libssl, "libssl3");
        Requires.Program(output, "readelf");
        var r = await TattleCli.RunAsync(["libs", Libssl, "--symbols", "SSL_read", "--json"], json: false);
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal("lib.object", lines[0].GetProperty("record").GetString());
        Assert.Equal(Libssl, lines[0].GetProperty("path").GetString());
        Assert.Equal(ReadElfOracle.Of(Libssl).BuildId, lines[0].GetProperty("build_id").GetString());
        Assert.Equal("3", lines[0].GetProperty("version").GetString());
        Assert.Equal("OPENSSL_3.0.0", lines[0].GetProperty("version_definition").GetString());
        Assert.Equal("lib.symbol", lines[1].GetProperty("record").GetString());
        Assert.Equal("export", lines[1].GetProperty("kind").GetString());
        Assert.Equal("SSL_read@@OPENSSL_3.0.0", lines[1].GetProperty("symbol").GetString());
        Assert.Equal(ReadElfOracle.Of(Libssl).Symbols.First(s => s.Name == "SSL_read").Value, lines[1].GetProperty("address").GetUInt64());
    }

    [SkippableFact]
    public async Task Table_ListsTheProcesssObjects()
    {
        using var sleeper = System.Diagnostics.Process.Start("sleep", "30");
        try
        {
            var r = await TattleCli.RunAsync(["libs", "-p", sleeper.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], json: false);
            output.WriteLine(r.ToString());
            Assert.Equal(0, r.ExitCode);
            var lines = r.Stdout.Split('\n');
            Assert.Equal($"pid {sleeper.Id} sleep", lines[0]);
            Assert.Matches(@"^  OBJECT +BUILD ID +VERSION +SYMTAB$", lines[1]);
            Assert.Contains(lines, l => l.Contains("/libc.so.6", StringComparison.Ordinal) && l.Contains(" 6 GLIBC_2.", StringComparison.Ordinal));
        }
        finally
        {
            sleeper.Kill();
        }
    }

    [SkippableFact]
    public async Task Usdt_Table_HasAProbeRowWithOffsetsAndArgumentsAsReadelfShowsThem()
    {
        Requires.FileFrom(output, Python, "python3.11-minimal");
        Requires.Program(output, "readelf");
        var r = await TattleCli.RunAsync(["libs", Python, "--usdt", "python:function__*"], json: false);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^  OBJECT +PROVIDER +NAME +OFFSET +SEMAPHORE +ARGUMENTS$", lines[0]);
        Assert.Equal(3, lines.Length);
        var loads = ReadElfOracle.Of(Python);
        var entry = StapsdtOracle.Probes(Python).Single(p => p.Name == "function__entry");
        string offsets = $"0x{loads.FileOffset(entry.Location):x}  0x{loads.FileOffset(entry.Semaphore):x}";
        Assert.Matches($@"^  {Python} +python +function__entry +{offsets} +{System.Text.RegularExpressions.Regex.Escape(entry.Arguments)}$", lines[1]);
        Assert.Contains("function__return", lines[2], StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Usdt_Json_HasLibUsdtRecordsWithTheParsedArguments()
    {
        Requires.Program(output, "cc");
        Requires.FileFrom(output, SdtProgram.Header, "systemtap-sdt-dev");
        var r = await TattleCli.RunAsync(["libs", SdtProgram.Pie, "--usdt", "tattle_demo:[hm]i*", "--json"], json: false);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["lib.object", "lib.usdt", "lib.usdt"], lines.Select(l => l.GetProperty("record").GetString()));
        var probes = UsdtProbes.Read(SdtProgram.Pie, out _).ToDictionary(p => p.Name);
        var mixed = lines[1];
        Assert.Equal(("tattle_demo", "mixed"), (mixed.GetProperty("provider").GetString(), mixed.GetProperty("name").GetString()));
        Assert.Equal(0, mixed.GetProperty("args").GetArrayLength());
        Assert.StartsWith("argument 3", mixed.GetProperty("problem").GetString(), StringComparison.Ordinal);
        var hit = lines[2];
        Assert.Equal(SdtProgram.Pie, hit.GetProperty("object").GetString());
        Assert.Equal(probes["hit"].FileOffset, hit.GetProperty("offset").GetUInt64());
        Assert.Equal(probes["hit"].SemaphoreFileOffset, hit.GetProperty("semaphore_offset").GetUInt64());
        Assert.Equal(probes["hit"].ArgumentText, hit.GetProperty("arguments").GetString());
        Assert.False(hit.TryGetProperty("problem", out _));
        var first = hit.GetProperty("args")[0];
        Assert.Equal(("memory", 4, true, "rbp", 32), (first.GetProperty("kind").GetString(), first.GetProperty("size").GetInt32(),
            first.GetProperty("signed").GetBoolean(), first.GetProperty("register").GetString(), first.GetProperty("reg_offset").GetInt32()));
        Assert.Equal(probes["hit"].Arguments[0].Value, first.GetProperty("offset").GetInt64());
    }

    [SkippableFact]
    public async Task Usdt_ForARunningPython_ListsItsProbesUnderItsExecutable()
    {
        Requires.FileFrom(output, Python, "python3.11-minimal");
        using var python = LibsOracleTests.StartPython("import sys; print('ready', flush=True); sys.stdin.read()");
        string pid = python.Id.ToString(CultureInfo.InvariantCulture);
        var r = await TattleCli.RunAsync(["libs", "-p", pid, "--usdt", "--json"], json: false);
        Assert.Equal(0, r.ExitCode);
        var usdt = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.GetProperty("record").GetString() == "lib.usdt").ToList();
        var expected = UsdtProbes.Read(Python, out _);
        Assert.Equal(expected.Select(p => $"{p.Provider}:{p.Name}"), usdt.Select(l => $"{l.GetProperty("provider").GetString()}:{l.GetProperty("name").GetString()}"));
        Assert.All(usdt, l => Assert.Equal((Python, python.Id), (l.GetProperty("object").GetString(), l.GetProperty("pid").GetInt32())));
        // 8@%rax: a register has no displacement to give.
        var import = usdt.Single(l => l.GetProperty("name").GetString() == "import__find__load__start").GetProperty("args")[0];
        Assert.Equal(("register", 8, false, "rax", 80), (import.GetProperty("kind").GetString(), import.GetProperty("size").GetInt32(),
            import.GetProperty("signed").GetBoolean(), import.GetProperty("register").GetString(), import.GetProperty("reg_offset").GetInt32()));
        Assert.False(import.TryGetProperty("offset", out _));
        Assert.False(import.TryGetProperty("value", out _));
    }

    [SkippableFact]
    public async Task Usdt_FileAfterTheOption_IsBadInputWithAHint()
    {
        Requires.FileFrom(output, Python, "python3.11-minimal");
        var r = await TattleCli.RunAsync(["libs", "--usdt", Python], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("put the FILE first", r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
