using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Tattle.Capture.Elf;
using Tattle.Tests.Capture.Elf;
using Tattle.Tests.Capture.Tls;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>`tattle tls` run as a user would, against live processes; offsets checked with the ELF reader.</summary>
public sealed partial class TlsCommandTests
{
    [GeneratedRegex(@"^  (SSL_\w+)\s+(\w+)\s+0x([0-9a-f]+)\s+openssl\s+OpenSSL 3\s+(/\S+libssl\.so\.3)$", RegexOptions.Multiline)]
    private static partial Regex SslRow();

    [Fact]
    public async Task Python_PrintsLibsslFunctions_AtTheReadersOffsets()
    {
        using var python = TlsTestProcess.Python();
        var r = await TattleCli.RunAsync(["tls", "-p", python.Pid.ToString(CultureInfo.InvariantCulture)], json: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.StartsWith($"pid {python.Pid} python3", r.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^  FUNCTION\s+ROLE\s+OFFSET\s+KIND\s+VERSION\s+LIBRARY$", r.Stdout);
        var rows = SslRow().Matches(r.Stdout).Select(m => (Name: m.Groups[1].Value, Role: m.Groups[2].Value, Offset: ulong.Parse(m.Groups[3].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), Path: m.Groups[4].Value)).ToList();
        Assert.Equal([("SSL_write", "write"), ("SSL_read", "read"), ("SSL_write_ex", "write_ex"), ("SSL_read_ex", "read_ex"), ("SSL_set_fd", "set_fd")], rows.Select(x => (x.Name, x.Role)));

        Assert.Equal(ElfStatus.Ok, ElfFile.Open(rows[0].Path, out var elf));
        using (elf)
        {
            var expected = elf!.FindFunctions(rows.Select(x => x.Name).ToArray());
            Assert.Equal(expected.Select(f => (f.Name, f.FileOffset)), rows.Select(x => (x.Name, x.Offset)));
        }
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public async Task Json_HasALibraryRecordWithTheFunctions()
    {
        using var python = TlsTestProcess.Python();
        var r = await TattleCli.RunAsync(["tls", "--json", "-p", python.Pid.ToString(CultureInfo.InvariantCulture)], json: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var doc = System.Text.Json.JsonDocument.Parse(Assert.Single(lines));
        var lib = doc.RootElement;
        Assert.Equal("tls.library", lib.GetProperty("record").GetString());
        Assert.Equal(python.Pid, lib.GetProperty("pid").GetInt32());
        Assert.Equal("openssl", lib.GetProperty("kind").GetString());
        string path = lib.GetProperty("path").GetString()!;
        var oracle = ReadElfOracle.Of(path);
        Assert.Equal(oracle.BuildId, lib.GetProperty("build_id").GetString());
        foreach (var f in lib.GetProperty("functions").EnumerateArray())
        {
            var symbol = oracle.Function(f.GetProperty("name").GetString()!)!;
            Assert.Equal(oracle.FileOffset(symbol.Value), f.GetProperty("offset").GetUInt64());
        }
        Assert.Equal(5, lib.GetProperty("functions").GetArrayLength()); // the four read/write calls and SSL_set_fd
    }

    [Fact]
    public async Task MissingPid_OneLine_Exit2()
    {
        var r = await TattleCli.RunAsync(["tls", "-p", "2147483647"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("tattle tls: no process with pid 2147483647\n", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public async Task NoPid_IsAUsageError()
    {
        var r = await TattleCli.RunAsync(["tls"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--pid", r.Stderr);
    }

    [SkippableFact]
    public async Task AnotherUsersProcess_WithoutRoot_OneActionableLine()
    {
        Requires.Root(null, "starting tattle as another user");
        using var sleep = TlsTestProcess.Sleep();
        var psi = new ProcessStartInfo("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", .. TattleCli.CommandLine(["tls", "-p", sleep.Pid.ToString(CultureInfo.InvariantCulture)])])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["HOME"] = "/tmp";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(1, p.ExitCode);
        Assert.Equal($"tattle tls: cannot read /proc/{sleep.Pid}/maps (sleep): permission denied; run as root\n", stderr);
        Assert.Equal("", await stdout);
    }
}
