using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Tests.Protocols.Support;

/// <summary>A plain-text client connection "c1" of <paramref name="comm"/>, for turning messages into records.</summary>
public sealed class FakeMessageContext(string comm) : IMessageContext
{
    public bool Tls => false;

    public string? Sni => null;

    public string? TlsSession => null;

    public MessageHeader Header(long startMonoNs) => new(startMonoNs, 1, comm, "c1", "client", null);

    public void NameServer(string name)
    {
    }

    public void SetSni(string sni)
    {
    }

    public void LearnName(string address, string name)
    {
    }

    public Endpoint PeerEndpoint(string peer) => throw new NotSupportedException();
}
