using System.Buffers.Binary;
using System.Net;
using System.Text;
using Tattle.Capture.Events;
using Tattle.Capture.Probes;
using Tattle.Records;
using Tattle.Tracking.Calls;

namespace Tattle.Tests.Tracking.Calls;

public class CallValuesTests
{
    /// <summary>struct sockaddr_in as the kernel lays it out: family (host order), port (network order), address, zero padding.</summary>
    internal static byte[] SockaddrIn(string ip, ushort port)
    {
        var b = new byte[16];
        BinaryPrimitives.WriteUInt16LittleEndian(b, 2);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), port);
        IPAddress.Parse(ip).GetAddressBytes().CopyTo(b, 4);
        return b;
    }

    /// <summary>struct sockaddr_in6: family, port, flowinfo, address, scope id.</summary>
    private static byte[] SockaddrIn6(string ip, ushort port, uint scope = 0)
    {
        var b = new byte[28];
        BinaryPrimitives.WriteUInt16LittleEndian(b, 10);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), port);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), 0x12345);
        IPAddress.Parse(ip).GetAddressBytes().CopyTo(b, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(24), scope);
        return b;
    }

    /// <summary>struct sockaddr_un cut at the length a program passes: offsetof(sun_path) + the path and its NUL, or the abstract name's length.</summary>
    private static byte[] SockaddrUn(string path, bool abstractName = false, bool nul = true)
    {
        var name = Encoding.UTF8.GetBytes(path);
        var b = new byte[2 + (abstractName ? 1 : 0) + name.Length + (nul && !abstractName ? 1 : 0)];
        BinaryPrimitives.WriteUInt16LittleEndian(b, 1);
        name.CopyTo(b, abstractName ? 3 : 2);
        return b;
    }

    [Fact]
    public void SocketAddress_Inet()
    {
        Assert.Equal("127.0.0.53:53", CallValues.SocketAddress(SockaddrIn("127.0.0.53", 53)));
        Assert.Equal("10.1.2.3:65535", CallValues.SocketAddress(SockaddrIn("10.1.2.3", 65535)));
        // connect() may be passed the 8 bytes that matter, without the padding.
        Assert.Equal("0.0.0.0:0", CallValues.SocketAddress(SockaddrIn("0.0.0.0", 0).AsSpan(0, 8)));
    }

    [Fact]
    public void SocketAddress_Inet6_InBrackets()
    {
        Assert.Equal("[::1]:8080", CallValues.SocketAddress(SockaddrIn6("::1", 8080)));
        Assert.Equal("[2001:db8::5]:443", CallValues.SocketAddress(SockaddrIn6("2001:db8::5", 443)));
        Assert.Equal("[::ffff:192.0.2.1]:80", CallValues.SocketAddress(SockaddrIn6("::ffff:192.0.2.1", 80)));
        // The RFC 2553 size without the scope id still holds the address.
        Assert.Equal("[fe80::1]:22", CallValues.SocketAddress(SockaddrIn6("fe80::1", 22, scope: 2).AsSpan(0, 24)));
    }

    [Fact]
    public void SocketAddress_Unix_PathOrAbstractName()
    {
        Assert.Equal("/run/app.sock", CallValues.SocketAddress(SockaddrUn("/run/app.sock")));
        Assert.Equal("/run/app.sock", CallValues.SocketAddress(SockaddrUn("/run/app.sock", nul: false)));
        Assert.Equal("@tattle-test", CallValues.SocketAddress(SockaddrUn("tattle-test", abstractName: true)));
        // Unnamed: the family alone; an empty abstract name: one NUL after it.
        Assert.Equal("", CallValues.SocketAddress(SockaddrUn("", nul: false)));
        Assert.Equal("@", CallValues.SocketAddress(SockaddrUn("")));
        // A whole struct sockaddr_un (110 bytes): the path ends at its NUL.
        var whole = new byte[110];
        SockaddrUn("/tmp/x").CopyTo(whole, 0);
        Assert.Equal("/tmp/x", CallValues.SocketAddress(whole));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 2 })]
    [InlineData(new byte[] { 2, 0, 0, 80, 127, 0, 0 })]
    [InlineData(new byte[] { 10, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 17, 0, 1, 2, 3, 4 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0 })]
    public void SocketAddress_TooShortOrOtherFamily_IsNull(byte[] bytes) => Assert.Null(CallValues.SocketAddress(bytes));

    [Fact]
    public void SocketAddress_AnyBytes_NeverThrows()
    {
        var random = new Random(7);
        for (int i = 0; i < 5000; i++)
        {
            var b = new byte[random.Next(0, 130)];
            random.NextBytes(b);
            if (b.Length >= 2 && random.Next(2) == 0)
            {
                b[0] = (byte)(random.Next(3) switch { 0 => 1, 1 => 2, _ => 10 });
                b[1] = 0;
            }
            _ = CallValues.SocketAddress(b);
        }
    }

    [Theory]
    [InlineData(ArgType.Int, 0xFFFFFFFFUL, -1L)]
    [InlineData(ArgType.Int, 0x1234_0000_0000_0005UL, 5L)]
    [InlineData(ArgType.Int, 0x0000_0000_8000_0000UL, (long)int.MinValue)]
    [InlineData(ArgType.Int, 0xFFFF_FFFF_0000_0002UL, 2L)]
    [InlineData(ArgType.Long, 0xFFFF_FFFF_FFFF_FFFEUL, -2L)]
    [InlineData(ArgType.Long, 0x0000_0000_FFFF_FFFFUL, 4294967295L)]
    public void Scalar_Signed(ArgType type, ulong reg, long expected)
    {
        var v = CallValues.Scalar(type, reg);
        Assert.Equal(expected, v.Signed);
        Assert.Null(v.Text);
    }

    [Theory]
    [InlineData(ArgType.UInt, 0xFFFF_FFFF_FFFF_FFFFUL, 4294967295UL)]
    [InlineData(ArgType.UInt, 0x1_0000_0007UL, 7UL)]
    [InlineData(ArgType.ULong, 0xFFFF_FFFF_FFFF_FFFFUL, ulong.MaxValue)]
    public void Scalar_Unsigned(ArgType type, ulong reg, ulong expected) => Assert.Equal(expected, CallValues.Scalar(type, reg).Unsigned);

    [Theory]
    [InlineData(ArgType.Ptr, 0UL, "NULL")]
    [InlineData(ArgType.Ptr, 0x7ffd_1234_abcdUL, "0x7ffd1234abcd")]
    [InlineData(ArgType.Ptr, 0xFFFF_FFFF_FFFF_FFFFUL, "0xffffffffffffffff")]
    [InlineData(ArgType.Str, 0x10UL, "0x10")]
    public void Scalar_Pointer(ArgType type, ulong reg, string expected) => Assert.Equal(expected, CallValues.Scalar(type, reg).Text);

    [Theory]
    [InlineData(0UL, false)]
    [InlineData(1UL, true)]
    [InlineData(0x1_0000_0000UL, false)]
    public void Scalar_Bool_FromTheLow32Bits(ulong reg, bool expected) => Assert.Equal(expected, CallValues.Scalar(ArgType.Bool, reg).Boolean);

    /// <summary>A call whose captured arguments are <paramref name="captured"/>, slot i at i * SlotBytes as the kernel sends them.</summary>
    internal static (CallEvent Event, byte[] Slots) Call(ulong[] args, ulong ret, params (int Index, byte[] Bytes)[] captured)
    {
        var regs = new CallRegisters();
        for (int i = 0; i < args.Length; i++)
        {
            regs[i] = args[i];
        }
        var lengths = new CallCaptureLengths();
        int slotsUsed = captured.Length == 0 ? 0 : captured.Max(c => c.Index) + 1;
        var slots = new byte[slotsUsed * CallEvent.SlotBytes];
        foreach (var (index, bytes) in captured)
        {
            int n = Math.Min(bytes.Length, CallEvent.SlotBytes);
            bytes.AsSpan(0, n).CopyTo(slots.AsSpan(index * CallEvent.SlotBytes));
            lengths[index] = (ushort)n;
        }
        return (new CallEvent { TimestampNs = 2_000_000, StartNs = 1_000_000, Pid = 10, Tid = 11, Args = regs, Ret = ret, Captured = lengths }, slots);
    }

    private static CallValue Argument(string signature, int index, (CallEvent Event, byte[] Slots) call, bool redact = true) =>
        CallValues.Argument(in call.Event, call.Slots, CallSignature.Parse(signature, out _)!, index, redact);

    [Fact]
    public void Buffer_FilledByTheCall_ShowsTheResultsLength()
    {
        var data = Encoding.ASCII.GetBytes("hello\0world");
        var v = Argument("(int fd, buf:len=ret data, size len, int flags) -> long", 1, Call([3, 0x7000, 100, 0], 5, (1, data)));
        Assert.Equal("hello", v.Text);
        Assert.False(v.Truncated);
    }

    [Fact]
    public void Buffer_WithBytesBeyondTheCopy_IsTruncated()
    {
        // zmq_recv returns the message's length even when the buffer was smaller; a send of 1000 bytes is cut at 256.
        var data = Enumerable.Range(0, 300).Select(i => (byte)'a').ToArray();
        var recv = Argument("(ptr socket, buf:len=ret data, size len, int flags) -> int", 1, Call([1, 0x7000, 300, 0], 1000, (1, data)));
        Assert.True(recv.Truncated);
        Assert.Equal(new string('a', CallEvent.SlotBytes), recv.Text);

        var send = Argument("(ptr socket, buf:len=arg3 data, size len, int flags) -> int", 1, Call([1, 0x7000, 1000, 0], 1000, (1, data)));
        Assert.True(send.Truncated);
        Assert.Equal(CallEvent.SlotBytes, send.Text!.Length);
    }

    [Fact]
    public void Buffer_WithAFailedResult_IsEmpty()
    {
        var v = Argument("(int fd, buf:len=ret data, size len, int flags) -> long", 1, Call([3, 0x7000, 100, 0], unchecked((ulong)-11L)));
        Assert.Equal("", v.Text);
        Assert.False(v.Truncated);
    }

    [Fact]
    public void Buffer_IsCEscaped()
    {
        var v = Argument("(ptr, buf:len=arg3, size) -> int", 1, Call([1, 0x7000, 6], 6, (1, [0, 1, (byte)'A', (byte)'\n', 0xff, (byte)'"'])));
        Assert.Equal("\\x00\\x01A\\n\\xff\\\"", v.Text);
    }

    [Fact]
    public void Str_IsText_AndLongOnesAreTruncated()
    {
        Assert.Equal("example.com", Argument("(str node, str service) -> int", 0, Call([0x7000, 0], 0, (0, Encoding.ASCII.GetBytes("example.com")))).Text);
        Assert.Equal("NULL", Argument("(str node, str service) -> int", 1, Call([0x7000, 0], 0, (0, Encoding.ASCII.GetBytes("example.com")))).Text);
        var full = Argument("(str s)", 0, Call([0x7000], 0, (0, Enumerable.Repeat((byte)'x', CallEvent.SlotBytes - 1).ToArray())));
        Assert.True(full.Truncated);
    }

    [Theory]
    [InlineData("(ptr conn, str query) -> int", "alter user app password 'hunter2'", "alter user app password 'REDACTED'")]
    [InlineData("(str conninfo) -> ptr", "host=db user=app password=hunter2 dbname=x", "host=db user=app password=REDACTED dbname=x")]
    [InlineData("(ptr, buf:len=arg3, size) -> int", "Authorization: Bearer abc.def", "Authorization: REDACTED")]
    public void StringsAndBuffers_HideSecretsUnlessAsked(string signature, string text, string expected)
    {
        int index = signature.StartsWith("(str", StringComparison.Ordinal) ? 0 : 1;
        var bytes = Encoding.ASCII.GetBytes(text);
        var call = Call([0x7000, 0x7000, (ulong)bytes.Length], 0, (index, bytes));
        Assert.Equal(expected, Argument(signature, index, call).Text);
        Assert.Equal(text, Argument(signature, index, call, redact: false).Text);
    }

    [Fact]
    public void SockAddrArgument_ShowsTheAddress_OrThePointerWhenItIsNone()
    {
        const string connect = "(int fd, sockaddr:len=arg3 addr, uint addrlen) -> int";
        Assert.Equal("127.0.0.1:6379", Argument(connect, 1, Call([3, 0x7000, 16], 0, (1, SockaddrIn("127.0.0.1", 6379)))).Text);
        Assert.Equal("0x7000", Argument(connect, 1, Call([3, 0x7000, 16], 0, (1, [99, 0, 1, 2, 3, 4, 5, 6]))).Text);
        Assert.Equal("NULL", Argument(connect, 1, Call([3, 0, 0], 0)).Text);
    }

    [Fact]
    public void Result_ByTheSignature()
    {
        var (e, _) = Call([], unchecked((ulong)-1L));
        Assert.Equal(-1, CallValues.Result(in e, CallSignature.Parse("() -> int", out _))!.Value.Signed);
        Assert.Equal(-1, CallValues.Result(in e, null)!.Value.Signed);
        Assert.Null(CallValues.Result(in e, CallSignature.Parse("() -> void", out _)));
        Assert.Null(CallValues.Result(e with { EntryOnly = true }, CallSignature.Parse("() -> int", out _)));
        Assert.True(CallValues.IsError(CallValues.Result(in e, null), null));
        Assert.False(CallValues.IsError(CallValues.Result(in e, CallSignature.Parse("() -> uint", out _)), CallSignature.Parse("() -> uint", out _)));
        var ptr = CallSignature.Parse("() -> ptr", out _);
        Assert.True(CallValues.IsError(CallValues.Result(e with { Ret = 0 }, ptr), ptr));
        Assert.False(CallValues.IsError(CallValues.Result(in e, ptr), ptr));
    }

    [Theory]
    [InlineData(10002, "http://example.com/a?b=c", true, "http://example.com/a?b=c")]
    [InlineData(10002, "https://user:hunter2@example.com/", true, "https://REDACTED@example.com/")]
    [InlineData(10002, "https://example.com/?token=abc123&x=1", true, "https://example.com/?token=REDACTED&x=1")]
    [InlineData(10002, "https://user:hunter2@example.com/", false, "https://user:hunter2@example.com/")]
    [InlineData(10005, "user:hunter2", true, "REDACTED")]
    [InlineData(10005, "user:hunter2", false, "user:hunter2")]
    [InlineData(10174, "hunter2", true, "REDACTED")]
    [InlineData(10018, "curl/7.88.1", true, "curl/7.88.1")]
    public void CurlOption_StringOptions(int option, string value, bool redact, string expected) =>
        Assert.Equal(expected, CallValues.CurlOption(option, new CallValue { Text = value }, 0x7000, redact).Text);

    [Theory]
    [InlineData(13, 30UL, 30L)]
    [InlineData(52, 1UL, 1L)]
    [InlineData(30145, 1000UL, 1000L)]
    public void CurlOption_LongAndOffsetOptions_AreNumbers(int option, ulong reg, long expected) =>
        Assert.Equal(expected, CallValues.CurlOption(option, new CallValue { Text = "garbage" }, reg, redact: true).Signed);

    [Theory]
    [InlineData(10001)] // CURLOPT_WRITEDATA
    [InlineData(10010)] // CURLOPT_ERRORBUFFER
    [InlineData(20011)] // CURLOPT_WRITEFUNCTION
    [InlineData(40291)] // CURLOPT_SSLCERT_BLOB
    public void CurlOption_PointerOptions_ArePointers(int option) =>
        Assert.Equal("0x55d0c0de0000", CallValues.CurlOption(option, new CallValue { Text = "garbage" }, 0x55d0c0de0000, redact: true).Text);
}
