using System.Text;
using System.Text.Json;
using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Tests.Protocols.Support;

/// <summary>
/// A message context of one plain connection (c1) that learns nothing: for turning messages into records outside a
/// trace; with <paramref name="spare"/>, the record a message may refill.
/// </summary>
public sealed class FixedMessageContext(string comm = "test", string role = "client", MessageRecord? spare = null) : IMessageContext
{
    public MessageRecord? SpareRecord => spare;

    public bool Tls => false;

    public string? Sni => null;

    public string? TlsSession => null;

    public MessageHeader Header(long startMonoNs) => new(startMonoNs, 1, comm, "c1", role, null);

    public void NameServer(string name, string from)
    {
    }

    public void SetSni(string sni)
    {
    }

    public void LearnName(string address, string name)
    {
    }

    public Endpoint PeerEndpoint(string peer) => new(peer, null);

    /// <summary>A message's own JSON fields, as its record writes them (no times: replays shifted in time compare equal).</summary>
    public static string Fields(ProtocolMessage message)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            message.ToRecord(new FixedMessageContext()).WriteFields(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
