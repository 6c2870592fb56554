using FsCheck;
using FsCheck.Fluent;
using Tattle.Capture.Elf;

namespace Tattle.Tests.Capture.Elf;

/// <summary>x86-64 SDT argument specs as GCC writes them into `.note.stapsdt`, parsed to pt_regs offsets.</summary>
public class UsdtArgumentTests
{
    // pt_regs slots (arch/x86/include/asm/ptrace.h), 8 bytes each.
    private const int R15 = 0, R14 = 8, R12 = 24, Rbp = 32, Rbx = 40, R11 = 48, R10 = 56, R9 = 64, Rax = 80, Rdx = 96, Rsi = 104, Rdi = 112, Rip = 128, Rsp = 152;

    [Theory]
    // python3.11 (Debian)
    [InlineData("8@%rbx", UsdtArgumentKind.Register, 8, false, Rbx, 0L)]
    [InlineData("8@%r15", UsdtArgumentKind.Register, 8, false, R15, 0L)]
    [InlineData("-8@%r12", UsdtArgumentKind.Register, 8, true, R12, 0L)]
    [InlineData("-4@112(%rsp)", UsdtArgumentKind.Memory, 4, true, Rsp, 112L)]
    [InlineData("8@%r14", UsdtArgumentKind.Register, 8, false, R14, 0L)]
    [InlineData("8@%rax", UsdtArgumentKind.Register, 8, false, Rax, 0L)]
    [InlineData("-4@%ebp", UsdtArgumentKind.Register, 4, true, Rbp, 0L)]
    [InlineData("-4@%edx", UsdtArgumentKind.Register, 4, true, Rdx, 0L)]
    [InlineData("8@%rbp", UsdtArgumentKind.Register, 8, false, Rbp, 0L)]
    [InlineData("-4@%eax", UsdtArgumentKind.Register, 4, true, Rax, 0L)]
    // libstdc++ (and the gcc binaries that link it statically)
    [InlineData("8@%rdx", UsdtArgumentKind.Register, 8, false, Rdx, 0L)]
    [InlineData("8@-80(%rbx)", UsdtArgumentKind.Memory, 8, false, Rbx, -80L)]
    [InlineData("8@%rdi", UsdtArgumentKind.Register, 8, false, Rdi, 0L)]
    [InlineData("8@%rsi", UsdtArgumentKind.Register, 8, false, Rsi, 0L)]
    // gcc 12 on the test program in SdtProgram
    [InlineData("-4@$5", UsdtArgumentKind.Constant, 4, true, -1, 5L)]
    [InlineData("-1@$-1", UsdtArgumentKind.Constant, 1, true, -1, -1L)]
    [InlineData("-4@%edi", UsdtArgumentKind.Register, 4, true, Rdi, 0L)]
    [InlineData("-8@%rsi", UsdtArgumentKind.Register, 8, true, Rsi, 0L)]
    [InlineData("2@%di", UsdtArgumentKind.Register, 2, false, Rdi, 0L)]
    [InlineData("-4@(%rsp)", UsdtArgumentKind.Memory, 4, true, Rsp, 0L)]
    [InlineData("-2@18(%rsp)", UsdtArgumentKind.Memory, 2, true, Rsp, 18L)]
    [InlineData("-4@-20(%rbp)", UsdtArgumentKind.Memory, 4, true, Rbp, -20L)]
    // the other shapes the spec and the assembler allow
    [InlineData("4@$5", UsdtArgumentKind.Constant, 4, false, -1, 5L)]
    [InlineData("8@-8(%rbp)", UsdtArgumentKind.Memory, 8, false, Rbp, -8L)]
    [InlineData("8@$0x10", UsdtArgumentKind.Constant, 8, false, -1, 16L)]
    [InlineData("8@$18446744073709551615", UsdtArgumentKind.Constant, 8, false, -1, -1L)]
    [InlineData("-8@$-9223372036854775808", UsdtArgumentKind.Constant, 8, true, -1, long.MinValue)]
    [InlineData("8@0x10(%rax)", UsdtArgumentKind.Memory, 8, false, Rax, 16L)]
    [InlineData("8@-0x10(%r10)", UsdtArgumentKind.Memory, 8, false, R10, -16L)]
    [InlineData("1@%sil", UsdtArgumentKind.Register, 1, false, Rsi, 0L)]
    [InlineData("1@%al", UsdtArgumentKind.Register, 1, false, Rax, 0L)]
    [InlineData("4@%r9d", UsdtArgumentKind.Register, 4, false, R9, 0L)]
    [InlineData("-2@%r10w", UsdtArgumentKind.Register, 2, true, R10, 0L)]
    [InlineData("1@%r11b", UsdtArgumentKind.Register, 1, false, R11, 0L)]
    [InlineData("8@%rip", UsdtArgumentKind.Register, 8, false, Rip, 0L)]
    [InlineData("8@%rsp", UsdtArgumentKind.Register, 8, false, Rsp, 0L)]
    // without SIZE@ (the oldest note format): the register's width, unsigned
    [InlineData("%eax", UsdtArgumentKind.Register, 4, false, Rax, 0L)]
    [InlineData("%rbx", UsdtArgumentKind.Register, 8, false, Rbx, 0L)]
    [InlineData("16(%rsp)", UsdtArgumentKind.Memory, 8, false, Rsp, 16L)]
    [InlineData("$3", UsdtArgumentKind.Constant, 8, false, -1, 3L)]
    public void Spec_ParsesToItsShape(string spec, UsdtArgumentKind kind, int size, bool signed, int regOffset, long value)
    {
        Assert.Equal(UsdtArgumentStatus.Ok, UsdtArgument.Parse(spec, out var a));
        Assert.Equal(new UsdtArgument(kind, size, signed, regOffset, value), a);
    }

    [Theory]
    [InlineData("8@(%rax,%rbx,8)", UsdtArgumentStatus.IndexRegister)]
    [InlineData("8@16(%rax,%rbx)", UsdtArgumentStatus.IndexRegister)]
    [InlineData("4@(,%rbx,4)", UsdtArgumentStatus.IndexRegister)]
    [InlineData("8@%fs:16", UsdtArgumentStatus.SegmentPrefix)]
    [InlineData("8@%fs:(%rax)", UsdtArgumentStatus.SegmentPrefix)]
    [InlineData("8@%gs:0x28(%rax)", UsdtArgumentStatus.SegmentPrefix)]
    [InlineData("8@fs:16", UsdtArgumentStatus.SegmentPrefix)]
    [InlineData("-8@tattle_global(%rip)", UsdtArgumentStatus.SymbolOffset)]
    [InlineData("8@table+8(%rip)", UsdtArgumentStatus.SymbolOffset)]
    [InlineData("8@.LC0(%rip)", UsdtArgumentStatus.SymbolOffset)]
    [InlineData("8@%xmm0", UsdtArgumentStatus.UnsupportedRegister)]
    [InlineData("1@%ah", UsdtArgumentStatus.UnsupportedRegister)]
    [InlineData("8@%cs", UsdtArgumentStatus.UnsupportedRegister)]
    [InlineData("4@(%eax)", UsdtArgumentStatus.UnsupportedRegister)]
    [InlineData("8@8(%xmm1)", UsdtArgumentStatus.UnsupportedRegister)]
    [InlineData("", UsdtArgumentStatus.Malformed)]
    [InlineData("@", UsdtArgumentStatus.Malformed)]
    [InlineData("3@%rax", UsdtArgumentStatus.Malformed)]
    [InlineData("16@%xmm0", UsdtArgumentStatus.Malformed)]
    [InlineData("--8@%rax", UsdtArgumentStatus.Malformed)]
    [InlineData("+8@%rax", UsdtArgumentStatus.Malformed)]
    [InlineData("x@%rax", UsdtArgumentStatus.Malformed)]
    [InlineData("8@", UsdtArgumentStatus.Malformed)]
    [InlineData("8@%", UsdtArgumentStatus.Malformed)]
    [InlineData("8@$", UsdtArgumentStatus.Malformed)]
    [InlineData("8@$x", UsdtArgumentStatus.Malformed)]
    [InlineData("8@$0x", UsdtArgumentStatus.Malformed)]
    [InlineData("8@$99999999999999999999", UsdtArgumentStatus.Malformed)]
    [InlineData("-8@$-9223372036854775809", UsdtArgumentStatus.Malformed)]
    [InlineData("8@rax", UsdtArgumentStatus.Malformed)]
    [InlineData("8@12", UsdtArgumentStatus.Malformed)]
    [InlineData("8@%rax)", UsdtArgumentStatus.Malformed)]
    [InlineData("8@(%rax", UsdtArgumentStatus.Malformed)]
    [InlineData("8@()", UsdtArgumentStatus.Malformed)]
    [InlineData("8@12(rax)", UsdtArgumentStatus.Malformed)]
    [InlineData("8@1 2(%rax)", UsdtArgumentStatus.Malformed)]
    public void UnsupportedOrBadSpec_GivesAStatus(string spec, UsdtArgumentStatus expected)
    {
        Assert.Equal(expected, UsdtArgument.Parse(spec, out var a));
        Assert.Equal(default, a);
        Assert.NotEqual("parsed", UsdtArgument.Describe(expected));
    }

    [Fact]
    public void ArgumentString_ParsesInOrder_OrNamesTheFirstSpecThatDoesNot()
    {
        Assert.Equal(UsdtArgumentStatus.Ok, UsdtArgument.ParseAll("8@%r14 8@%rax -4@%ebp", out var args, out int failedAt));
        Assert.Equal(-1, failedAt);
        Assert.Equal([R14, Rax, Rbp], args.Select(a => a.RegOffset));
        Assert.Equal(UsdtArgumentStatus.Ok, UsdtArgument.ParseAll("", out args, out _));
        Assert.Empty(args);
        Assert.Equal(UsdtArgumentStatus.SymbolOffset, UsdtArgument.ParseAll("-1@$-1 2@%di -8@g(%rip)", out args, out failedAt));
        Assert.Equal(2, failedAt);
        Assert.Empty(args);
    }

    [Fact]
    public void RegisterName_IsTheFullRegisterOfTheSlot()
    {
        Assert.Equal("rbx", UsdtArgument.RegisterName(Rbx));
        Assert.Equal("rsp", UsdtArgument.RegisterName(Rsp));
        Assert.Equal("ss", UsdtArgument.RegisterName(160));
        Assert.Null(UsdtArgument.RegisterName(168));
        Assert.Null(UsdtArgument.RegisterName(-1));
        Assert.Null(UsdtArgument.RegisterName(4));
    }

    [Fact]
    public void RandomSpecs_NeverThrow()
    {
        Prop.ForAll<string>(text =>
        {
            _ = UsdtArgument.Parse(text ?? "", out _);
            _ = UsdtArgument.ParseAll(text ?? "", out _, out _);
            // Near-misses of real specs reach the deeper branches random text rarely gets to.
            foreach (string prefix in new[] { "8@", "-4@%", "8@$", "8@(%", "8@-8(%" })
            {
                _ = UsdtArgument.Parse(prefix + text, out _);
            }
        }).QuickCheckThrowOnFailure();
    }
}
