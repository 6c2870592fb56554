using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Tattle.Tests.Support;

/// <summary>One packet as `tcpdump -nn -S -tt` prints it.</summary>
internal sealed record TcpdumpPacket(
    long UnixUs, string? Direction, string Src, string Dst, string? Flags, uint? Seq, uint? Ack, int Length, string Line);

/// <summary>
/// tcpdump as the oracle of the packet decoder: runs `tcpdump -r FILE -nn -S -tt` when installed, otherwise reads the
/// output capture.sh saved next to the file (FILE.txt, made by the same command).
/// </summary>
internal static partial class TcpdumpOracle
{
    public static IReadOnlyList<TcpdumpPacket> Read(string pcapName, ITestOutputHelper output)
    {
        string path = TestPcapFile.PathOf(pcapName);
        string text;
        if (File.Exists("/usr/bin/tcpdump") || File.Exists("/usr/sbin/tcpdump"))
        {
            var psi = new ProcessStartInfo("tcpdump", ["-r", path, "-nn", "-S", "-tt"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, stderr.Result);
        }
        else
        {
            output.WriteLine($"tcpdump is not installed: using the output saved in {pcapName}.txt");
            text = File.ReadAllText(path + ".txt");
        }
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Parse).ToList();
    }

    private static TcpdumpPacket Parse(string line)
    {
        var m = LineRegex().Match(line);
        Assert.True(m.Success, $"unexpected tcpdump line: {line}");
        string rest = m.Groups["rest"].Value;
        var flags = Regex.Match(rest, @"Flags \[([^\]]*)\]");
        var seq = Regex.Match(rest, @"\bseq (\d+)");
        var ack = Regex.Match(rest, @"\back (\d+)");
        // TCP and plain UDP say "length N"; a decoded DNS message ends with its length in parentheses.
        var length = Regex.Match(rest, @"length (\d+)");
        if (!length.Success)
        {
            length = Regex.Match(rest, @"\((\d+)\)$");
        }
        Assert.True(length.Success, $"no length in: {line}");
        var ts = m.Groups["ts"].Value.Split('.');
        return new TcpdumpPacket(
            long.Parse(ts[0], CultureInfo.InvariantCulture) * 1_000_000 + long.Parse(ts[1], CultureInfo.InvariantCulture),
            m.Groups["dir"].Success ? m.Groups["dir"].Value : null,
            m.Groups["src"].Value,
            m.Groups["dst"].Value,
            flags.Success ? flags.Groups[1].Value : null,
            seq.Success ? uint.Parse(seq.Groups[1].Value, CultureInfo.InvariantCulture) : null,
            ack.Success ? uint.Parse(ack.Groups[1].Value, CultureInfo.InvariantCulture) : null,
            int.Parse(length.Groups[1].Value, CultureInfo.InvariantCulture),
            line);
    }

    [GeneratedRegex(@"^(?<ts>\d+\.\d+) (?:\S+\s+(?<dir>In|Out|B|M|P)\s+)?IP6? (?<src>\S+) > (?<dst>\S+): (?<rest>.*)$")]
    private static partial Regex LineRegex();
}
