using System.Text.Json;
using Tattle.Protocols.Common;
using Tattle.Records;
using Tattle.Records.Json;
using Tattle.Records.Live;

namespace Tattle.Protocols.Zmtp;

/// <summary>A ZeroMQ message or command (type <c>zmtp</c>), described from its sender's side.</summary>
public sealed record ZmtpRecord : MessageRecord
{
    public ZmtpRecord()
    {
    }

    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public ZmtpRecord(in MessageHeader header)
        : base(in header)
    {
    }

    public override string Type => "zmtp";

    public string Kind { get; internal set; } = "message";

    public string? SocketType { get; internal set; }

    public string? PeerSocketType { get; internal set; }

    public string? Mechanism { get; internal set; }

    public string? Version { get; internal set; }

    public int Frames { get; internal set; }

    public long Bytes { get; internal set; }

    public ZmtpReply? Reply { get; internal set; }

    /// <summary>REQ/REP traffic: the summary counts it as a request, answered or not.</summary>
    public bool Request { get; internal set; }

    public string? Topic { get; internal set; }

    public string? Identity { get; internal set; }

    public string? User { get; internal set; }

    public string? Error { get; internal set; }

    public string? Preview { get; internal set; }

    public override bool IsRequest => Request;

    /// <summary>Sets every field from the message: a new record, or the connection's last one refilled.</summary>
    internal ZmtpRecord Fill(in MessageHeader header, ZmtpMessage m)
    {
        Refill(in header, m.Reply is not null || m.Answered ? IMessageContext.Latency(m.StartNs, m.EndNs) : null);
        (Kind, SocketType, PeerSocketType, Mechanism, Version) = (m.Kind, m.SocketType, m.PeerSocketType, m.Mechanism, m.Version);
        (Frames, Bytes, Reply, Request) = (m.Frames, m.Bytes, m.Reply, m.IsRequest);
        (Topic, Identity, User, Error, Preview) = (m.Topic, m.Identity, m.User, m.Error, m.Preview);
        return this;
    }

    public override void WriteFields(Utf8JsonWriter w)
    {
        RecurringStrings.Write(w, Names.Kind, Kind);
        RecurringStrings.Write(w, Names.SocketType, SocketType);
        RecurringStrings.Write(w, Names.PeerSocketType, PeerSocketType);
        RecurringStrings.Write(w, Names.Mechanism, Mechanism);
        RecurringStrings.Write(w, Names.Version, Version);
        w.WriteNumber(Names.Frames, Frames);
        w.WriteNumber(Names.Bytes, Bytes);
        if (Reply is { } reply)
        {
            w.WriteStartObject(Names.Reply);
            w.WriteNumber(Names.Frames, reply.Frames);
            w.WriteNumber(Names.Bytes, reply.Bytes);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull(Names.Reply);
        }
        w.WriteString(Names.Topic, Topic);
        w.WriteString(Names.Identity, Identity);
        w.WriteString(Names.User, User);
        w.WriteString(JsonNames.Error, Error);
        if (Preview is not null)
        {
            w.WriteString(Names.Preview, Preview);
        }
    }

    /// <summary>
    /// "zmtp REQ->REP 2 frames 11 B -> 1 frame 5 B 0.40 ms", "zmtp PUB message 1 frame 5 B",
    /// "zmtp SUB subscribe "news"", "zmtp DEALER ready NULL identity "w1"", "zmtp error "400"".
    /// </summary>
    public override void Describe(LiveLine line)
    {
        line.Word(LiveStyle.Cyan, "zmtp").Space();
        if (Request)
        {
            line.Text(SocketType ?? "?").Word("->").Text(PeerSocketType ?? "?").Space();
            Sizes(line, Frames, Bytes).Word(" -> ");
            if (Reply is { } reply)
            {
                Sizes(line, reply.Frames, reply.Bytes);
            }
            else
            {
                line.Word(LiveStyle.Grey, "(no reply)");
            }
            Quoted(line, Preview).Ms(LatencyMs).Conn(Conn);
            return;
        }
        if (SocketType is not null)
        {
            line.Text(SocketType).Space();
        }
        line.Word(Kind == "error" ? LiveStyle.Red : LiveStyle.Green, Kind);
        switch (Kind)
        {
            case "message" or "encrypted":
                line.Space();
                Sizes(line, Frames, Bytes);
                Quoted(line, Preview);
                break;
            case "subscribe" or "cancel":
                Quoted(line, Topic);
                break;
            case "ping":
                if (LatencyMs is null)
                {
                    line.Space().Word(LiveStyle.Grey, "(no pong)");
                }
                break;
            case "error":
                Quoted(line, Error);
                break;
            default:
                if (Mechanism is not null)
                {
                    line.Space().Text(Mechanism);
                }
                if (Identity is { Length: > 0 })
                {
                    line.Word(" identity");
                    Quoted(line, Identity);
                }
                if (User is not null)
                {
                    line.Word(" user");
                    Quoted(line, User);
                }
                break;
        }
        line.Ms(LatencyMs).Conn(Conn);
    }

    private static LiveLine Sizes(LiveLine line, int frames, long bytes) =>
        line.Word(frames == 1 ? "1 frame " : $"{frames} frames ").Bytes((ulong)Math.Max(0, bytes));

    private static LiveLine Quoted(LiveLine line, string? text) => text is null ? line : line.Space().Text("\"" + text + "\"");

    private static class Names
    {
        public static readonly JsonEncodedText Bytes = JsonEncodedText.Encode("bytes");
        public static readonly JsonEncodedText Frames = JsonEncodedText.Encode("frames");
        public static readonly JsonEncodedText Identity = JsonEncodedText.Encode("identity");
        public static readonly JsonEncodedText Kind = JsonEncodedText.Encode("kind");
        public static readonly JsonEncodedText Mechanism = JsonEncodedText.Encode("mechanism");
        public static readonly JsonEncodedText PeerSocketType = JsonEncodedText.Encode("peer_socket_type");
        public static readonly JsonEncodedText Preview = JsonEncodedText.Encode("preview");
        public static readonly JsonEncodedText Reply = JsonEncodedText.Encode("reply");
        public static readonly JsonEncodedText SocketType = JsonEncodedText.Encode("socket_type");
        public static readonly JsonEncodedText Topic = JsonEncodedText.Encode("topic");
        public static readonly JsonEncodedText User = JsonEncodedText.Encode("user");
        public static readonly JsonEncodedText Version = JsonEncodedText.Encode("version");
    }
}
