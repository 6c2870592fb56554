using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Protocols.Dns;

/// <summary>One resource record of an answer section, with its data as text ("93.184.215.14", "example.com").</summary>
public sealed record DnsAnswer(string Name, string Type, uint Ttl, string Data);

/// <summary>A DNS query paired with its response (by id and 5-tuple); Rcode is null when no response came.</summary>
public sealed record DnsExchange : ProtocolMessage
{
    public required ushort Id { get; init; }

    /// <summary>The question's name, without the trailing dot ("example.com").</summary>
    public required string Query { get; init; }

    /// <summary>The question's type ("A", "AAAA", "HTTPS", or "TYPE65534" for unknown ones).</summary>
    public required string QType { get; init; }

    /// <summary>"NOERROR", "NXDOMAIN", "SERVFAIL"…; null when the query was never answered.</summary>
    public string? Rcode { get; init; }

    public IReadOnlyList<DnsAnswer> Answers { get; init; } = [];

    /// <summary>"udp" or "tcp".</summary>
    public required string Transport { get; init; }

    /// <summary>The other end of a datagram exchange ("127.0.0.53:53"), when known.</summary>
    public string? Peer { get; init; }

    /// <summary>Whether the query was seen (a response whose query was sent before tracing began has none).</summary>
    public bool HasQuery { get; init; } = true;

    /// <summary>
    /// The answers are incomplete: the server set TC (the answer did not fit a datagram; the client retries over
    /// TCP), or the datagram Tattle saw was cut short (snap length) after the question.
    /// </summary>
    public bool Truncated { get; init; }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        foreach (var answer in Answers)
        {
            // CNAME chains collapse to the name the program asked for.
            if (answer.Type is "A" or "AAAA")
            {
                context.LearnName(answer.Data, Query);
            }
        }
        var header = context.Header(StartNs);
        return new DnsRecord(header with { Remote = Peer is not null ? context.PeerEndpoint(Peer) : header.Remote })
        {
            LatencyMs = Rcode is not null && HasQuery ? IMessageContext.Latency(StartNs, EndNs) : null,
            Id = Id,
            Query = Query,
            QType = QType,
            Rcode = Rcode,
            Answers = Answers.Select(a => new DnsAnswerRecord(a.Name, a.Type, a.Ttl, a.Data)).ToList(),
            Transport = Transport,
            Truncated = Truncated,
        };
    }
}
