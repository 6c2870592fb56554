using Tattle.Capture.Probes;

namespace Tattle.Tests.Capture.Probes;

public class BuiltinSignaturesTests
{
    [Fact]
    public void EveryName_HasASignature()
    {
        // The table is parsed when the type loads: a bad entry throws there and fails every test touching it.
        var names = BuiltinSignatures.Names.ToList();
        Assert.True(names.Count > 30, $"only {names.Count} built-in signatures");
        Assert.All(names, n => Assert.NotNull(BuiltinSignatures.Find(n)));
        Assert.Null(BuiltinSignatures.Find("zmq_sendiov"));
        Assert.Null(BuiltinSignatures.Find("GETADDRINFO"));
    }

    [Theory]
    [InlineData("getaddrinfo", "Str node, Str service, Ptr hints, Ptr res -> Int")]
    [InlineData("zmq_send", "Ptr socket, Buf data len=3, ULong len, Int flags -> Int")]
    [InlineData("zmq_recv", "Ptr socket, Buf data len=7, ULong len, Int flags -> Int")]
    [InlineData("connect", "Int fd, SockAddr addr len=3, UInt addrlen -> Int")]
    [InlineData("freeaddrinfo", "Ptr res -> Void")]
    [InlineData("curl_easy_setopt", "Ptr handle, Int option, Str value -> Int")]
    [InlineData("zmq_socket", "Ptr context, Int type -> Ptr")]
    public void Signature_HasItsExactShape(string function, string expected) =>
        Assert.Equal(expected, CallSignatureTests.Describe(BuiltinSignatures.Find(function)!));

    [Fact]
    public void CurlEasyPerform_BringsSetoptAlong()
    {
        Assert.Equal(["curl_easy_setopt"], BuiltinSignatures.CompanionsOf("curl_easy_perform"));
        Assert.Empty(BuiltinSignatures.CompanionsOf("curl_easy_setopt"));
        Assert.Empty(BuiltinSignatures.CompanionsOf("getaddrinfo"));
    }
}
