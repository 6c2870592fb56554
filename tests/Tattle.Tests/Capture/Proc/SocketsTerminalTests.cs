using System.Diagnostics;
using System.Globalization;
using System.Text;
using Tattle.Capture.Packets.Replay;
using Tattle.Capture.Proc;
using Tattle.Cli.Commands;
using Tattle.Cli.Tracing;
using Tattle.Output.Pcapng;
using Tattle.Tests.Support;
using Tattle.Tracking.Packets;

namespace Tattle.Tests.Capture.Proc;

/// <summary>
/// `tattle sockets` and `tattle read` print names that programs chose (their comm, the paths they bind, the
/// process names in a capture's comments): control characters in them come out escaped, never raw.
/// </summary>
public sealed class SocketsTerminalTests
{
    private static void AssertNoRawControls(string text)
    {
        Assert.DoesNotContain(text, c => c is not '\n' && (char.IsControl(c) || c is '\u202e'));
        Assert.Contains("\\x1b", text);
    }

    [Fact]
    public void SocketsTable_EscapesAHostileCommAndUnixPath()
    {
        string dir = Directory.CreateTempSubdirectory("tattle-esc-").FullName;
        // A program names itself and its socket with terminal escapes (prctl PR_SET_NAME; 15 bytes of comm).
        const string script = """
            import ctypes, socket, sys, time
            ctypes.CDLL(None).prctl(15, b"x\x1b]0;t\x07\x1b[2J", 0, 0, 0)
            s = socket.socket(socket.AF_UNIX)
            s.bind(sys.argv[1] + "/s\x1b]0;owned\x07\x1b[31m\u202e")
            s.listen(1)
            print("ready", flush=True)
            time.sleep(30)
            """;
        var psi = new ProcessStartInfo(Py.Exe) { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(dir);
        using var python = Process.Start(psi)!;
        try
        {
            Assert.Equal("ready", python.StandardOutput.ReadLine());
            using var stdout = new MemoryStream();
            using var stderr = new StringWriter();
            var options = new SocketsOptions { Pids = [python.Id.ToString(CultureInfo.InvariantCulture)], Unix = true, Numeric = true };
            Assert.Equal(0, SocketsCommand.Run(options, stdout, stderr, NoAddressNames.Instance));
            string table = Encoding.UTF8.GetString(stdout.ToArray());
            AssertNoRawControls(table);
            Assert.Contains("x\\x1b]0;t\\x07\\x1b[2J", table);
            Assert.Contains("/s\\x1b]0;owned\\x07\\x1b[31m\\u202e", table);
        }
        finally
        {
            python.Kill();
            python.WaitForExit();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ReadingAHostileCapture_EscapesWhatItsCommentsSay()
    {
        string pcapng = Path.Combine(Path.GetTempPath(), $"tattle-hostile-{Guid.NewGuid():N}.pcapng");
        string view = pcapng + ".txt";
        try
        {
            var pcap = TestPcapFile.Read("http-lo.pcap");
            using (var writer = PcapngWriter.Create(pcapng))
            {
                int id = writer.AddInterface("lo", (ushort)pcap.LinkType, 0);
                foreach (var f in pcap.Frames)
                {
                    string comment = PacketComment.Format(4242, "c\u001b]0;t\u0007", "c1", outgoing: true, container: null,
                        PacketComment.JoinArgv(["curl", "\u001b[2J\u009b31m"]));
                    writer.WritePacket(id, f.UnixNs, f.Bytes, f.WireLength, comment);
                }
            }
            var config = new TraceConfig { OutputPath = view };
            using var stderr = new StringWriter();
            Assert.Equal(0, ReadCommand.Execute(pcapng, config, stderr));
            string text = File.ReadAllText(view);
            AssertNoRawControls(text);
            Assert.Contains("c\\x1b]0;t\\x07[4242]", text);
            Assert.Contains("curl '\\x1b[2J\\x9b31m'", text); // quoted as a shell word, then escaped
        }
        finally
        {
            File.Delete(pcapng);
            File.Delete(view);
        }
    }
}
