using System.Diagnostics;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// The files a trace writes (--json, -o, -w) hold payloads and decrypted headers: they are created 0600, never
/// through a symbolic link, handed to the user who ran sudo; and the terminal is left as tattle found it.
/// </summary>
[Collection("bpf")]
public sealed class OutputFilesTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tattle-files-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(IReadOnlyList<string> args, IDictionary<string, string>? env = null)
    {
        var psi = TattleCli.StartInfo(args);
        // The test itself may run under sudo: only what the test sets counts.
        psi.Environment.Remove("SUDO_UID");
        psi.Environment.Remove("SUDO_GID");
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        return await Exec(psi);
    }

    private static async Task<(int Code, string Stdout, string Stderr)> Exec(ProcessStartInfo psi)
    {
        psi.RedirectStandardOutput = psi.RedirectStandardError = psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    private static async Task<string> OwnerOf(string path)
    {
        var psi = new ProcessStartInfo("stat") { ArgumentList = { "-c", "%u:%g", path } };
        return (await Exec(psi)).Stdout.Trim();
    }

    [SkippableFact]
    public async Task EveryOutput_Is0600_AndUnderSudoBelongsToTheSudoUser()
    {
        Requires.RootAndBpf(output);
        Requires.RootAndLibpcap(output);
        string json = Path.Combine(_dir, "t.jsonl"), view = Path.Combine(_dir, "t.txt"), pcap = Path.Combine(_dir, "t.pcapng");
        var r = await RunAsync(["run", "--json", json, "-o", view, "-w", pcap, "--", "true"],
            new Dictionary<string, string> { ["SUDO_UID"] = "65534", ["SUDO_GID"] = "65533" });
        Assert.True(r.Code == 0, r.Stderr);
        foreach (var path in new[] { json, view, pcap })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal("65534:65533", await OwnerOf(path));
        }
    }

    [SkippableFact]
    public async Task WithoutSudo_OutputsStayRoots()
    {
        Requires.RootAndBpf(output);
        string json = Path.Combine(_dir, "t.jsonl");
        var r = await RunAsync(["run", "-q", "--json", json, "--", "true"]);
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(json));
        Assert.Equal("0:0", await OwnerOf(json));
    }

    [SkippableTheory]
    [InlineData("--json")]
    [InlineData("-o")]
    [InlineData("-w")]
    public async Task ASymbolicLinkAtTheOutputPath_IsRefused(string option)
    {
        Requires.RootAndBpf(output);
        Requires.RootAndLibpcap(output);
        string victim = Path.Combine(_dir, "victim");
        File.WriteAllText(victim, "keep");
        string link = Path.Combine(_dir, "out");
        File.CreateSymbolicLink(link, victim);
        var r = await RunAsync(["run", option, link, "--", "true"]);
        Assert.Equal(2, r.Code);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, r.Stderr);
        Assert.Contains($"{link} is a symbolic link", lines[0]);
        Assert.Equal("keep", File.ReadAllText(victim));
    }

    private async Task<string> OnATerminal(IReadOnlyList<string> args)
    {
        // script gives tattle a terminal for stdin, stdout and stderr, and copies what reaches it.
        string command = string.Join(' ', TattleCli.CommandLine(args).Select(a => "'" + a + "'"));
        var psi = new ProcessStartInfo("script") { ArgumentList = { "-qec", command, "/dev/null" } };
        psi.Environment["TERM"] = "xterm";
        psi.Environment["TATTLE_NAME_CACHE"] = TattleCli.NameCachePath;
        var r = await Exec(psi);
        output.WriteLine(r.Stdout);
        return r.Stdout;
    }

    [SkippableFact]
    public async Task WithTheViewInAFile_NothingReachesTheTerminal()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "script");
        // Not even the keypad-transmit mode (ESC[?1h ESC=) a console initialisation writes.
        string view = Path.Combine(_dir, "view.txt");
        Assert.DoesNotContain("\u001b", await OnATerminal(["run", "-o", view, "--", "true"]));
        Assert.Contains("tattle summary", File.ReadAllText(view));

        // Piped: the live view and summary on stderr carry no escape sequence at all.
        var piped = await RunAsync(["run", "--", "true"], new Dictionary<string, string> { ["TERM"] = "xterm" });
        Assert.True(piped.Code == 0, piped.Stderr);
        Assert.Contains("tattle summary", piped.Stderr);
        Assert.DoesNotContain("\u001b", piped.Stderr + piped.Stdout);
    }

    [SkippableTheory]
    [InlineData("run -- sh -c true")]
    [InlineData("--version")]
    [InlineData("--help")]
    [InlineData("sockets -x -n")]
    [InlineData("run --frobnicate -- true")]
    public async Task OnATerminal_NoModeIsChanged(string args)
    {
        if (args.StartsWith("run", StringComparison.Ordinal))
        {
            Requires.RootAndBpf(output);
        }
        Requires.Program(output, "script");
        string seen = await OnATerminal(args.Split(' '));
        Assert.NotEmpty(seen);
        // Colour (SGR, ESC[…m) is all tattle writes: no keypad mode, no other private mode.
        Assert.DoesNotContain("\u001b[?", seen);
        Assert.DoesNotContain("\u001b=", seen);
    }
}
