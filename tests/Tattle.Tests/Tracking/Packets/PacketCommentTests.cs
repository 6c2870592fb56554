using FsCheck;
using FsCheck.Fluent;
using Tattle.Capture.Packets.Replay;
using Tattle.Tracking.Packets;

namespace Tattle.Tests.Tracking.Packets;

/// <summary>
/// A packet's comment names its process with values the process chose (its name, its arguments): whatever they
/// hold, they must read back as they were and never as another key.
/// </summary>
public class PacketCommentTests
{
    // Characters that delimit or escape something somewhere in the comment or in a command line, plus ordinary ones.
    private const string Hostile = " \t\n\r\v\f\"'\\=x1p\u0085\u00a0\u2028\u001b\u0000\u009bé";

    private static readonly Gen<string> Text =
        Gen.OneOf(
            Gen.ArrayOf(Gen.Elements(Hostile.ToCharArray())).Select(c => new string(c)),
            ArbMap.Default.GeneratorFor<string>().Select(s => s ?? ""),
            Gen.Elements("x\tpid=1", "x pid=1", "x\" pid=1", "x\\\" pid=1 \"", "\" cmdline=\"y", "a\npid=2"));

    [Theory]
    [InlineData("x\tpid=1")]
    [InlineData("x\npid=1")]
    [InlineData("x\u0085pid=1")]
    [InlineData("x\u2028pid=1")]
    [InlineData("x\\\tpid=1")]
    [InlineData("x\" pid=1 \"")]
    [InlineData("")]
    public void AProcessName_CannotForgeThePid(string comm)
    {
        string text = PacketComment.Format(4242, comm, "c3", outgoing: true, container: null, cmdline: "");
        Assert.True(PacketComment.TryParse(text, out var c), text);
        Assert.Equal((4242, comm, "c3", "out"), (c.Pid, c.Comm, c.Conn, c.Dir));
    }

    [Fact]
    public void ControlCharacters_AreEscaped_NotWrittenRaw()
    {
        string text = PacketComment.Format(7, "a\tb\u001b", "c1", outgoing: false, container: null,
            PacketComment.JoinArgv(["sh", "-c", "echo\u2028\r\n"]));
        Assert.Equal("pid=7 comm=\"a\\tb\\x1b\" conn=c1 dir=in cmdline=\"sh -c 'echo\\u2028\\r\\n'\"", text);
    }

    [Fact]
    public void AnyNameAndCommandLine_RoundTrip_AndThePidIsNeverForged()
    {
        var arb = Gen.Zip(Gen.Zip(Text, Gen.ArrayOf(Text), (comm, argv) => (comm, argv)), Gen.Choose(0, int.MaxValue),
            (t, pid) => (t.comm, t.argv, pid)).ToArbitrary();
        Prop.ForAll(arb, t =>
        {
            var (comm, argv, pid) = t;
            string text = PacketComment.Format(pid, comm, "c9", outgoing: true, container: null, PacketComment.JoinArgv(argv), "tls=plaintext");
            Assert.True(PacketComment.TryParse(text, out var c), text);
            Assert.Equal(pid, c.Pid);
            Assert.Equal(comm, c.Comm);
            Assert.Equal("c9", c.Conn);
            Assert.Equal("out", c.Dir);
            if (argv.Length > 0)
            {
                Assert.Equal(argv, c.Argv());
            }
        }).QuickCheckThrowOnFailure();
    }
}
