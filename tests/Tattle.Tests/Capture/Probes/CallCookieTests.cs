using System.Globalization;
using System.Text.RegularExpressions;
using Tattle.Capture.Elf;
using Tattle.Capture.Probes;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Probes;

/// <summary>
/// The attach cookie of a function probe is read by the BPF programs: its layout is checked against the constants
/// of bpf/tattle.h, read from the header itself so that a change on one side fails here.
/// </summary>
public sealed partial class CallCookieTests
{
    private static readonly Dictionary<string, ulong> Header = DefineRegex().Matches(File.ReadAllText(Path.Combine(Repo.Root, "bpf", "tattle.h")))
        .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.StartsWith("0x", StringComparison.Ordinal)
            ? ulong.Parse(m.Groups[2].Value.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : ulong.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));

    private static ulong Define(string name) => Header.TryGetValue(name, out ulong value) ? value : throw new KeyNotFoundException($"bpf/tattle.h has no {name}");

    /// <summary>
    /// What the header's comment says argument <paramref name="index"/> (0-based) holds: six bits from
    /// TATTLE_CALL_ARG_SHIFT, the capture kind in bits 0-2 and the length's source in bits 3-5.
    /// </summary>
    private static ulong ArgBits(int index, ulong cap, ulong lengthFrom) =>
        (cap | (lengthFrom << 3)) << (int)(Define("TATTLE_CALL_ARG_SHIFT") + (6 * (ulong)index));

    [Fact]
    public void HeaderConstants_AreTheOnesTheLayoutAssumes()
    {
        Assert.Equal((ulong)CallSignature.MaxArguments, Define("TATTLE_CALL_ARGS"));
        // Six arguments of six bits from the shift fit in the cookie, above the flags.
        Assert.True(Define("TATTLE_CALL_ARG_SHIFT") + (6 * Define("TATTLE_CALL_ARGS")) <= 64);
        Assert.True((Define("TATTLE_CALL_USDT") << 1) <= 1UL << (int)Define("TATTLE_CALL_ARG_SHIFT"));
    }

    [Theory]
    [InlineData("(int, long, ptr, uint, ulong, bool) -> int")]
    [InlineData("()")]
    public void IntegersOnly_CopyNothing(string text) =>
        Assert.Equal(0UL, CallSignature.Parse(text, out _)!.CookieBits);

    [Fact]
    public void Strings_AreCapStr_WithNoLength()
    {
        var signature = CallSignature.Parse("(str node, str service, ptr hints, ptr res) -> int", out _)!;
        ulong str = Define("TATTLE_CAP_STR");
        Assert.Equal(ArgBits(0, str, 0) | ArgBits(1, str, 0), signature.CookieBits);
    }

    [Fact]
    public void Buffers_AreCapBuf_WithTheirLengthArgument()
    {
        var signature = CallSignature.Parse("(ptr socket, buf:len=arg3 data, size len, int flags) -> int", out _)!;
        Assert.Equal(ArgBits(1, Define("TATTLE_CAP_BUF"), 3), signature.CookieBits);
    }

    [Fact]
    public void BufferFilledByTheCall_TakesItsLengthFromTheResult()
    {
        var signature = CallSignature.Parse("(int fd, buf:len=ret data, size len, int flags) -> long", out _)!;
        Assert.Equal(ArgBits(1, Define("TATTLE_CAP_BUF"), 7), signature.CookieBits);
    }

    [Fact]
    public void SocketAddresses_AreCopiedAsBuffers()
    {
        var signature = CallSignature.Parse("(int fd, buf:len=arg3 data, size len, int flags, sockaddr:len=arg6 to, uint tolen) -> long", out _)!;
        ulong buf = Define("TATTLE_CAP_BUF");
        Assert.Equal(ArgBits(1, buf, 3) | ArgBits(4, buf, 6), signature.CookieBits);
    }

    [Fact]
    public void SixthArgument_UsesTheTopBits()
    {
        var signature = CallSignature.Parse("(int, int, int, int, ulong n, buf:len=ret) -> long", out _)!;
        Assert.Equal(ArgBits(5, Define("TATTLE_CAP_BUF"), 7), signature.CookieBits);
        Assert.Equal(0UL, signature.CookieBits & ((1UL << (int)Define("TATTLE_CALL_ARG_SHIFT")) - 1));
    }

    [Fact]
    public void EveryArgumentCaptured_KeepsEachInItsOwnBits()
    {
        var signature = CallSignature.Parse("(str a, buf:len=arg3 b, size n, sockaddr:len=arg3 c, str d, buf:len=ret e) -> int", out _)!;
        ulong str = Define("TATTLE_CAP_STR"), buf = Define("TATTLE_CAP_BUF");
        Assert.Equal(ArgBits(0, str, 0) | ArgBits(1, buf, 3) | ArgBits(3, buf, 3) | ArgBits(4, str, 0) | ArgBits(5, buf, 7), signature.CookieBits);
    }

    [Theory]
    [InlineData(0, false, false, false)]
    [InlineData(1, true, false, false)]
    [InlineData(65535, false, true, false)]
    [InlineData(42, true, true, false)]
    [InlineData(7, false, true, true)]
    public void FunctionCookie_HasIndexAndFlagsWhereTheHeaderSays(int index, bool go, bool entryOnly, bool usdt)
    {
        var f = new ProbedFunction(index, "/usr/lib/x86_64-linux-gnu/libzmq.so.5.2.4", "zmq_send", null, entryOnly, GoAbi: go, Usdt: usdt ? Array.Empty<UsdtArgument>() : null);
        ulong expected = (uint)index | (go ? Define("TATTLE_CALL_GO") : 0) | (entryOnly ? Define("TATTLE_CALL_ENTRY_ONLY") : 0) | (usdt ? Define("TATTLE_CALL_USDT") : 0);
        Assert.Equal(expected, f.Cookie);
        Assert.Equal((ulong)index, f.Cookie & 0xffff);
    }

    [Fact]
    public void FunctionCookie_CarriesItsSignaturesBits()
    {
        var signature = BuiltinSignatures.Find("zmq_send")!;
        var f = new ProbedFunction(3, "/usr/lib/x86_64-linux-gnu/libzmq.so.5.2.4", "zmq_send", signature, EntryOnly: false);
        Assert.Equal(3UL | ArgBits(1, Define("TATTLE_CAP_BUF"), 3), f.Cookie);
    }

    [Fact]
    public void FunctionNumbers_StayWithinTheCookiesIndexBits()
    {
        var functions = new ProbedFunctions(int.MaxValue);
        Assert.Equal(ProbedFunctions.Limit, functions.Max);
        Assert.Equal((ulong)ProbedFunctions.Limit, Define("TATTLE_CALL_GO"));
    }

    [Fact]
    public void ProbedFunctions_NumberEachFunctionOnce_UpToTheCap()
    {
        var functions = new ProbedFunctions(2);
        var a = functions.Add("/lib/libc.so.6", "connect", null, entryOnly: false)!;
        var b = functions.Add("/lib/libc.so.6", "bind", null, entryOnly: false)!;
        Assert.Same(a, functions.Add("/lib/libc.so.6", "connect", null, entryOnly: false));
        Assert.Null(functions.Add("/lib/libc.so.6", "send", null, entryOnly: false));
        Assert.Equal((0, 1), (a.Index, b.Index));
        Assert.Same(b, functions[1]);
        Assert.Null(functions[2]);
        Assert.Null(functions[-1]);
        Assert.Equal(2, functions.Count);
    }

    [GeneratedRegex(@"^#define (\w+)\s+(0x[0-9a-fA-F]+|\d+)\b", RegexOptions.Multiline)]
    private static partial Regex DefineRegex();
}
