using FsCheck;
using FsCheck.Fluent;
using Tattle.Capture.Probes;

namespace Tattle.Tests.Capture.Probes;

public class ProbeSpecTests
{
    [Theory]
    [InlineData("libc:getaddrinfo", "libc", "getaddrinfo", null, false)]
    [InlineData("libzmq:zmq_*", "libzmq", "zmq_*", null, false)]
    [InlineData("  libc.so.6 : connect ", "libc.so.6", "connect", null, false)]
    [InlineData("libzmq:zmq_send(ptr, buf:len=arg3 data, size, int) -> int", "libzmq", "zmq_send", "Ptr, Buf data len=3, ULong, Int -> Int", false)]
    [InlineData("libzmq:zmq_send (ptr s)", "libzmq", "zmq_send", "Ptr s -> Long", false)]
    [InlineData("/usr/lib/x.so:f", "/usr/lib/x.so", "f", null, false)]
    [InlineData("curl:curl_easy_[ps]e*", "curl", "curl_easy_[ps]e*", null, false)]
    [InlineData("/opt/app/server:main.(*Server).handle", "/opt/app/server", "main.(*Server).handle", null, false)]
    [InlineData("server:net/http.(*Client).Do(ptr c, ptr req) -> ptr", "server", "net/http.(*Client).Do", "Ptr c, Ptr req -> Ptr", false)]
    [InlineData("server:main.main", "server", "main.main", null, false)]
    [InlineData("app:_ZN3foo3barEv", "app", "_ZN3foo3barEv", null, false)]
    [InlineData("usdt:python3.11:python:function__entry", "python3.11", "python:function__entry", null, true)]
    [InlineData("usdt:python3.11:python:function__*", "python3.11", "python:function__*", null, true)]
    [InlineData("usdt:/usr/bin/python3.11:python:function__entry(str file, str function, int line)", "/usr/bin/python3.11", "python:function__entry",
        "Str file, Str function, Int line -> Long", true)]
    public void Parses(string text, string library, string function, string? signature, bool usdt)
    {
        var spec = ProbeSpec.Parse(text, out string error);
        Assert.True(spec is not null, error);
        Assert.Equal(text, spec.Text);
        Assert.Equal(library, spec.Library);
        Assert.Equal(function, spec.Function.Pattern);
        Assert.Equal(signature, spec.Signature is null ? null : CallSignatureTests.Describe(spec.Signature));
        Assert.Equal(usdt, spec.Usdt);
    }

    [Theory]
    [InlineData("getaddrinfo", "expected LIB:FUNCTION, e.g. libc:getaddrinfo")]
    [InlineData(":getaddrinfo", "expected LIB:FUNCTION")]
    [InlineData("libc:", "expected LIB:FUNCTION")]
    [InlineData("libc:  ", "expected LIB:FUNCTION")]
    [InlineData("", "expected LIB:FUNCTION")]
    [InlineData("libc:(int)", "'' is not a function name or pattern")]
    [InlineData("libc:get addrinfo", "'get addrinfo' is not a function name or pattern")]
    [InlineData("libc:a:b", "'a:b' is not a function name or pattern")]
    [InlineData("lib*:getaddrinfo", "the library is a name or a path, not a pattern")]
    [InlineData("libc?:getaddrinfo", "the library is a name or a path, not a pattern")]
    [InlineData("/usr/lib/[a-z]*.so:f", "the library is a name or a path, not a pattern")]
    [InlineData("libc:getaddrinfo(str, float)", "argument 2: unknown type 'float'")]
    [InlineData("libc:getaddrinfo(str", "the argument list has no closing ')'")]
    [InlineData("libc:recv(int, buf:len=ret) -> void", "argument 2: len=ret needs an integer result")]
    [InlineData("usdt:python3", "expected usdt:LIB:PROVIDER:NAME, e.g. usdt:python3:python:function__entry")]
    [InlineData("usdt:python3:", "expected usdt:LIB:PROVIDER:NAME")]
    [InlineData("usdt:python3:function__entry", "expected usdt:LIB:PROVIDER:NAME")]
    [InlineData("usdt:python3:a:b:c", "expected usdt:LIB:PROVIDER:NAME")]
    [InlineData("usdt:python3:python:function__entry(int", "the argument list has no closing ')'")]
    [InlineData("usdt:python3:python:", "expected usdt:LIB:PROVIDER:NAME")]
    [InlineData("usdt:python3::function__entry", "expected usdt:LIB:PROVIDER:NAME")]
    [InlineData("usdt: :python:function__entry", "no library before the ':'")]
    public void Rejects_WithOneLineNamingTheSpec(string text, string reason)
    {
        Assert.Null(ProbeSpec.Parse(text, out string error));
        Assert.StartsWith($"'{text}': ", error, StringComparison.Ordinal);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void GoMethodName_MatchesItsSymbol()
    {
        var spec = ProbeSpec.Parse("server:net/http.(*Client).Do", out _)!;
        Assert.True(spec.Function.IsMatch("net/http.(*Client).Do"));
        Assert.False(spec.Function.IsMatch("net/http.(*Client).Get"));
    }

    [Theory]
    [InlineData("libc:get)addrinfo", "is not a function name")]
    [InlineData("libc:get(addrinfo)", "argument 1: unknown type 'addrinfo'")]
    public void Parentheses_OutsideAGoReceiver_AreNoName(string text, string reason)
    {
        Assert.Null(ProbeSpec.Parse(text, out string error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("libc", "/usr/lib/x86_64-linux-gnu/libc.so.6", true)]
    [InlineData("libc", "libc.so.6", true)]
    [InlineData("libc", "/lib/libc-2.31.so", true)]
    [InlineData("libc", "/usr/lib/x86_64-linux-gnu/libcurl.so.4", false)]
    [InlineData("libc", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", false)]
    [InlineData("libc", "/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0", false)]
    [InlineData("c", "/usr/lib/x86_64-linux-gnu/libc.so.6", true)]
    [InlineData("zmq", "/usr/lib/x86_64-linux-gnu/libzmq.so.5", true)]
    [InlineData("zmq", "/usr/lib/x86_64-linux-gnu/libzmq.so.5.2.4", true)]
    [InlineData("libzmq", "/usr/lib/x86_64-linux-gnu/libzmq.so.5.2.4", true)]
    [InlineData("libzmq.so.5", "/usr/lib/x86_64-linux-gnu/libzmq.so.5", true)]
    [InlineData("libzmq.so.5", "/usr/lib/x86_64-linux-gnu/libzmq.so.5.2.4", true)]
    [InlineData("libzmq.so.5", "/usr/lib/x86_64-linux-gnu/libzmq.so.50", false)]
    [InlineData("libzmq.so", "/usr/lib/x86_64-linux-gnu/libzmq.so.5", true)]
    [InlineData("libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6.bak", false)]
    [InlineData("curl", "/usr/bin/curl", true)]
    [InlineData("curl", "/usr/lib/x86_64-linux-gnu/libcurl.so.4", true)]
    [InlineData("curl", "/usr/bin/curl-config", false)]
    [InlineData("python3.11", "/usr/bin/python3.11", true)]
    [InlineData("python3", "/usr/bin/python3.11", true)]
    [InlineData("python3", "/usr/bin/python3-config", false)]
    [InlineData("python3.11", "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", true)]
    [InlineData("libssl", "/usr/lib/x86_64-linux-gnu/libssl.so.3", true)]
    [InlineData("ssl", "/usr/lib/x86_64-linux-gnu/libssl3.so", false)]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", true)]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", false)]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so", "/usr/lib/x86_64-linux-gnu/libc.so.6", false)]
    [InlineData("/usr/bin/python3.11", "python3.11", false)]
    public void LibraryMatches(string library, string path, bool expected)
    {
        Assert.Equal(expected, ProbeSpec.LibraryMatches(library, path));
        Assert.Equal(expected, ProbeSpec.Parse($"{library}:f", out _)!.MatchesLibrary(path));
    }

    [Fact]
    public void AnyText_GivesASpecOrAReason_NeverAnException()
    {
        string[] pieces = ["usdt:", "libc", ":", "zmq_*", "(", ")", "int", ",", " ", "/", "*", "[", "]", "->", "buf:len=arg1", "x", ".so", "\t"];
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000), Prop.ForAll<string, int[]>((raw, picks) =>
        {
            foreach (string text in new[] { raw ?? "", string.Concat((picks ?? []).Select(p => pieces[(p & int.MaxValue) % pieces.Length])) })
            {
                var spec = ProbeSpec.Parse(text, out string error);
                Assert.True(spec is null != (error.Length == 0), $"'{text}': a spec and an error, or neither");
                if (spec is not null)
                {
                    Assert.NotEqual("", spec.Library);
                    Assert.NotEqual("", spec.Function.Pattern);
                    _ = spec.MatchesLibrary("/usr/lib/x86_64-linux-gnu/libc.so.6");
                }
            }
            return true;
        }));
    }
}
