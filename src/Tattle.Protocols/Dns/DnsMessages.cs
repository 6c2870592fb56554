using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Protocols.Dns;

/// <summary>One resource record of an answer section, with its data as text ("93.184.215.14", "example.com").</summary>
public sealed record DnsAnswer(string Name, string Type, uint Ttl, string Data);

/// <summary>A DNS query paired with its response (by id and 5-tuple); Rcode is null when no response came.</summary>
public sealed record DnsExchange : ProtocolMessage
{
    public ushort Id { get; internal set; }

    /// <summary>The question's name, without the trailing dot ("example.com").</summary>
    public string Query { get; internal set; } = "";

    /// <summary>The question's type ("A", "AAAA", "HTTPS", or "TYPE65534" for unknown ones).</summary>
    public string QType { get; internal set; } = "";

    /// <summary>"NOERROR", "NXDOMAIN", "SERVFAIL"…; null when the query was never answered.</summary>
    public string? Rcode { get; internal set; }

    public IReadOnlyList<DnsAnswer> Answers { get; internal set; } = [];

    /// <summary>"udp" or "tcp".</summary>
    public string Transport { get; internal set; } = "";

    /// <summary>The other end of a datagram exchange ("127.0.0.53:53"), when known.</summary>
    public string? Peer { get; internal set; }

    /// <summary>Whether the query was seen (a response whose query was sent before tracing began has none).</summary>
    public bool HasQuery { get; internal set; } = true;

    /// <summary>
    /// The answers are incomplete: the server set TC (the answer did not fit a datagram; the client retries over
    /// TCP), or the datagram Tattle saw was cut short (snap length) after the question.
    /// </summary>
    public bool Truncated { get; internal set; }

    /// <summary>
    /// Sets every field: a new exchange, or the one the parser refills for a sink that consumes each message at once
    /// (<see cref="IMessageSink.ConsumesAtOnce"/>).
    /// </summary>
    internal DnsExchange Fill(long startNs, long endNs, ushort id, string query, string qtype, string? rcode,
        IReadOnlyList<DnsAnswer> answers, string transport, string? peer, bool hasQuery, bool truncated)
    {
        Retime(startNs, endNs);
        (Id, Query, QType, Rcode, Answers) = (id, query, qtype, rcode, answers);
        (Transport, Peer, HasQuery, Truncated) = (transport, peer, hasQuery, truncated);
        return this;
    }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        // An index, not foreach: an interface's enumerator is an object per record.
        for (int i = 0; i < Answers.Count; i++)
        {
            var answer = Answers[i];
            // CNAME chains collapse to the name the program asked for.
            if (answer.Type is "A" or "AAAA")
            {
                context.LearnName(answer.Data, Query);
            }
        }
        var header = context.Header(StartNs);
        if (Peer is not null)
        {
            header = header with { Remote = context.PeerEndpoint(Peer) };
        }
        // The connection's last record when the sinks are done with it (IMessageContext.SpareRecord), else a new one.
        return (context.SpareRecord as DnsRecord ?? new DnsRecord(in header)).Fill(in header, this);
    }
}
