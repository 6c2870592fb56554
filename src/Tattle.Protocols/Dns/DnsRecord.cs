using System.Text.Json;
using Tattle.Protocols.Common;
using Tattle.Records;
using Tattle.Records.Json;
using Tattle.Records.Live;

namespace Tattle.Protocols.Dns;

/// <summary>A DNS query with its response (Rcode is null when no response came).</summary>
public sealed record DnsRecord : MessageRecord
{
    public DnsRecord()
    {
    }

    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public DnsRecord(in MessageHeader header)
        : base(in header)
    {
    }

    public override string Type => "dns";

    public string Query { get; internal set; } = "";

    public string QType { get; internal set; } = "";

    public string? Rcode { get; internal set; }

    public IReadOnlyList<DnsAnswer> Answers { get; internal set; } = [];

    /// <summary>udp or tcp.</summary>
    public string Transport { get; internal set; } = "";

    public int Id { get; internal set; }

    /// <summary>The server set TC (answer truncated), or the datagram seen was cut after its question.</summary>
    public bool Truncated { get; internal set; }

    /// <summary>
    /// Sets every field from the exchange: a new record, or the connection's last one refilled. The answers are the
    /// exchange's own list: its parser never changes a list once handed.
    /// </summary>
    internal DnsRecord Fill(in MessageHeader header, DnsExchange exchange)
    {
        Refill(in header, exchange.Rcode is not null && exchange.HasQuery ? IMessageContext.Latency(exchange.StartNs, exchange.EndNs) : null);
        (Id, Query, QType, Rcode, Answers) = (exchange.Id, exchange.Query, exchange.QType, exchange.Rcode, exchange.Answers);
        (Transport, Truncated) = (exchange.Transport, exchange.Truncated);
        return this;
    }

    public override void WriteFields(Utf8JsonWriter w)
    {
        // A program asks for the same names and gets the same answers: their encoded forms are kept, not made again.
        RecurringStrings.Write(w, Names.Query, Query);
        RecurringStrings.Write(w, Names.Qtype, QType);
        RecurringStrings.Write(w, Names.Rcode, Rcode);
        w.WriteNumber(Names.Id, Id);
        RecurringStrings.Write(w, Names.Transport, Transport);
        w.WriteBoolean(JsonNames.Truncated, Truncated);
        w.WriteStartArray(Names.Answers);
        for (int i = 0; i < Answers.Count; i++)
        {
            var a = Answers[i];
            w.WriteStartObject();
            RecurringStrings.Write(w, JsonNames.Name, a.Name);
            RecurringStrings.Write(w, JsonNames.Type, a.Type);
            w.WriteNumber(Names.Ttl, a.Ttl);
            RecurringStrings.Write(w, JsonNames.Data, a.Data);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public override string? ErrorType => Rcode is null or "NOERROR" ? null : Rcode;

    /// <summary>A response with no latency: its query was not seen (an unanswered query has no rcode).</summary>
    public override bool RequestUnseen => Rcode is not null && LatencyMs is null;

    public override bool WriteExchange(IExchangeWriter w)
    {
        w.Describe(ExchangeKind.Dns, "dns", QType.Length == 0 ? "dns" : "dns " + QType);
        w.Attribute("dns.question.name", Query);
        w.Attribute("dns.question.type", QType);
        if (Rcode is { } rcode)
        {
            w.Attribute("dns.response_code", rcode);
        }
        // NOERROR with no answer is still a lookup that worked (an empty AAAA set).
        w.Outcome(Rcode is null ? "none" : Rcode == "NOERROR" ? "ok" : "error", ErrorType);
        return true;
    }

    public override void Describe(LiveLine line)
    {
        line.Word(LiveStyle.Cyan, "dns").Space().Text(QType).Space().Text(Query).Space().Arrow(Role).Space();
        if (Rcode is null)
        {
            line.Word(LiveStyle.Grey, "(no response)");
        }
        else
        {
            bool error = Rcode != "NOERROR";
            if (error)
            {
                line.Text(LiveStyle.Red, Rcode);
            }
            if (Answers.Count > 0)
            {
                (error ? line.Space() : line).Text(string.Join(", ", Answers.Select(a => a.Data)));
            }
            else if (!error)
            {
                // NODATA (RFC 2308 section 2.2): the name exists, but has no record of this type (an AAAA query on v4 only).
                line.Word(LiveStyle.Grey, "(no records)");
            }
        }
        line.Ms(LatencyMs).Conn(Conn);
    }

    private static class Names
    {
        public static readonly JsonEncodedText Answers = JsonEncodedText.Encode("answers");
        public static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
        public static readonly JsonEncodedText Qtype = JsonEncodedText.Encode("qtype");
        public static readonly JsonEncodedText Query = JsonEncodedText.Encode("query");
        public static readonly JsonEncodedText Rcode = JsonEncodedText.Encode("rcode");
        public static readonly JsonEncodedText Transport = JsonEncodedText.Encode("transport");
        public static readonly JsonEncodedText Ttl = JsonEncodedText.Encode("ttl");
    }
}
