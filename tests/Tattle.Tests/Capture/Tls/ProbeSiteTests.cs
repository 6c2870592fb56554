using Iced.Intel;
using Tattle.Capture.Elf;
using Tattle.Capture.Tls;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Tls;

/// <summary>Where an entry-only probe goes: the first emulated instruction before the arguments change, once per call.</summary>
public class ProbeSiteTests(ITestOutputHelper output)
{
    private static readonly Register[] SysV = [Register.RDI, Register.RSI, Register.RDX];

    // Debian 12's libssl3 SSL_write: sub $0x18,%rsp; mov %fs:0x28,%rax; mov %rax,0x8(%rsp); xor %eax,%eax;
    // test %edx,%edx; js +0x2f; then a body that ends in ret.
    private static readonly byte[] SslWrite =
    [
        0x48, 0x83, 0xec, 0x18, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00, 0x48, 0x89, 0x44, 0x24, 0x08,
        0x31, 0xc0, 0x85, 0xd2, 0x78, 0x2f, 0x48, 0x83, 0xc4, 0x18, 0xc3,
    ];

    [Fact]
    public void SslWritePrologue_GoesToItsConditionalJump()
    {
        Assert.Equal(0x1000ul + 0x16, ProbeSite.Find(SslWrite, 0x35980, 0x1000, 0x1000, SysV));
    }

    [Fact]
    public void ArgumentWrittenBeforeTheBranch_StaysAtTheEntry()
    {
        // mov %rdi,%rsi (the buffer's register is overwritten), then js.
        byte[] code = [0x48, 0x89, 0xfe, 0x78, 0x02, 0x90, 0x90, 0xc3];
        Assert.Equal(0x1000ul, ProbeSite.Find(code, 0x401000, 0x1000, 0x1000, SysV));
    }

    [Fact]
    public void LoopBackIntoThePrologue_StaysAtTheEntry()
    {
        // L: test %edx,%edx; js +0; ...; jmp L — the js would be passed once per iteration.
        byte[] code = [0x85, 0xd2, 0x78, 0x00, 0x90, 0xeb, 0xf9, 0xc3];
        Assert.Equal(0x1000ul, ProbeSite.Find(code, 0x401000, 0x1000, 0x1000, SysV));
    }

    [Fact]
    public void PrefixedOrIndirectBranch_IsNotASite()
    {
        byte[] bnd = [0x48, 0x83, 0xec, 0x08, 0xf2, 0xeb, 0x00, 0xc3]; // bnd jmp: the kernel single-steps prefixed forms
        Assert.Equal(0x1000ul, ProbeSite.Find(bnd, 0x401000, 0x1000, 0x1000, SysV));
        byte[] indirect = [0x48, 0x83, 0xec, 0x08, 0xff, 0xe0, 0xc3]; // jmp *%rax
        Assert.Equal(0x1000ul, ProbeSite.Find(indirect, 0x401000, 0x1000, 0x1000, SysV));
    }

    [Fact]
    public void PushAndCall_AreSites()
    {
        byte[] push = [0x41, 0x54, 0xc3]; // push %r12
        Assert.Equal(0x1000ul, ProbeSite.Find(push, 0x401000, 0x1000, 0x1000, SysV));
        byte[] call = [0x48, 0x83, 0xec, 0x08, 0xe8, 0x00, 0x00, 0x00, 0x00, 0xc3]; // sub; call
        Assert.Equal(0x1004ul, ProbeSite.Find(call, 0x401000, 0x1000, 0x1000, SysV));
    }

    [Fact]
    public void Garbage_NeverThrows_AndStaysInside()
    {
        var random = new Random(7);
        for (int i = 0; i < 2000; i++)
        {
            var code = new byte[random.Next(0, 64)];
            random.NextBytes(code);
            ulong site = ProbeSite.Find(code, 0x401000, 0x1000, 0x1000, SysV);
            Assert.InRange(site, 0x1000ul, 0x1000ul + (ulong)Math.Max(0, code.Length - 1));
        }
    }

    [SkippableFact]
    public void DebiansLibssl_WritesGetAnEmulatedSite_ReadsKeepTheirEntry()
    {
        const string libssl = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
        Requires.FileFrom(output, libssl, "libssl3");
        var scan = TlsLibraries.System([Path.GetDirectoryName(libssl)!]);
        var target = scan.Targets.First(t => t.Path.EndsWith("libssl.so.3", StringComparison.Ordinal));
        var bytes = File.ReadAllBytes(target.Path);
        foreach (var f in target.Functions)
        {
            if (f.Name is "SSL_write" or "SSL_write_ex")
            {
                ulong site = Assert.NotNull(f.ProbeOffset);
                Assert.InRange(site, f.FileOffset + 1, f.FileOffset + 32);
                var decoder = Decoder.Create(64, new ByteArrayCodeReader(bytes, (int)site, 16), site);
                decoder.Decode(out var instruction);
                Assert.True(instruction.IsJccShortOrNear || instruction.IsJmpShortOrNear || instruction.IsCallNear, $"{f.Name}: {instruction}");
            }
            else
            {
                Assert.Null(f.ProbeOffset); // a uretprobe sits on the entry: the return address is at the stack pointer there
            }
        }
    }
}
