using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Tests.Protocols.Support;

/// <summary>A connection context for turning messages into records outside a trace: one process, connection c1.</summary>
public sealed class FixedMessageContext(string comm = "test", string role = "client") : IMessageContext
{
    public bool Tls => false;

    public string? Sni => null;

    public string? TlsSession => null;

    public MessageHeader Header(long startMonoNs) => new(startMonoNs, 1, comm, "c1", role, null);

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
