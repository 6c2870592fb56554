using System.Text.Json;
using Tattle.Tests.Capture.Elf;
using Tattle.Tests.Support;

namespace Tattle.Tests.Cli;

/// <summary>`tattle libs` as a user runs it: the table and the JSON Lines records documented in docs/probe.md.</summary>
public class LibsCommandTests(ITestOutputHelper output)
{
    private const string Libssl = "/usr/lib/x86_64-linux-gnu/libssl.so.3";

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
}
