using System.Text;
using System.Text.Json;
using Tattle.Protocols.Common;
using Tattle.Records;
using Tattle.Records.Live;
using IMessageSink = Tattle.Protocols.Common.IMessageSink;

namespace Tattle.Tests.Tracking.Streams;

/// <summary>
/// A toy protocol for testing the streams without a real parser: requests are lines "Q:…\n", responses
/// "A:…\n", paired first in first out. Anything else is Invalid; a boundary is a line start with the right prefix.
/// </summary>
internal sealed class LineProtocol(IMessageSink sink) : IProtocolParser
{
    public static ProtocolInfo Info { get; } = new("line", Probe, (_, sink) => new LineProtocol(sink));

    private readonly Queue<(string Text, long Start)> _questions = new();

    public List<(MessageKind Kind, long Bytes)> Gaps { get; } = [];

    public string Name => "line";

    private static Detection Probe(ReadOnlySpan<byte> data, bool datagram, int localPort, int remotePort) =>
        data.Length < 2 ? Detection.NeedMoreData
        : data.StartsWith("Q:"u8) ? Detection.Request
        : data.StartsWith("A:"u8) ? Detection.Response
        : Detection.No;

    public ParseResult Parse(MessageKind kind, ReadOnlySpan<byte> data, in StreamContext context)
    {
        if (data.Length < 2)
        {
            return data.IsEmpty || data[0] == Prefix(kind)[0] ? ParseResult.NeedMoreData() : ParseResult.Invalid;
        }
        if (!data.StartsWith(Prefix(kind)))
        {
            return ParseResult.Invalid;
        }
        int end = data.IndexOf((byte)'\n');
        if (end < 0)
        {
            return ParseResult.NeedMoreData();
        }
        string text = Encoding.ASCII.GetString(data[2..end]);
        if (kind == MessageKind.Request)
        {
            _questions.Enqueue((text, context.StartNs));
        }
        else
        {
            var (question, start) = _questions.Count > 0 ? _questions.Dequeue() : ("?", context.StartNs);
            sink.OnMessage(new LineExchange { Question = question, Answer = text, StartNs = start, EndNs = context.NowNs });
        }
        return ParseResult.Success(end + 1);
    }

    public int FindFrameBoundary(MessageKind kind, ReadOnlySpan<byte> data)
    {
        var prefix = Prefix(kind);
        if (data.StartsWith(prefix))
        {
            return 0;
        }
        for (int i = data.IndexOf((byte)'\n'); i >= 0 && i + 1 < data.Length; i = data[(i + 1)..].IndexOf((byte)'\n') is var j and >= 0 ? i + 1 + j : -1)
        {
            if (data[(i + 1)..].StartsWith(prefix))
            {
                return i + 1;
            }
        }
        return -1;
    }

    public bool OnGap(MessageKind kind, long bytes, long nowNs)
    {
        Gaps.Add((kind, bytes));
        return false;
    }

    public void OnClose(long nowNs)
    {
        while (_questions.TryDequeue(out var q))
        {
            sink.OnMessage(new LineExchange { Question = q.Text, Answer = null, StartNs = q.Start, EndNs = nowNs });
        }
    }

    private static ReadOnlySpan<byte> Prefix(MessageKind kind) => kind == MessageKind.Request ? "Q:"u8 : "A:"u8;
}

/// <summary>A question and its answer (null when the connection closed first).</summary>
internal sealed record LineExchange : ProtocolMessage
{
    public required string Question { get; init; }

    public required string? Answer { get; init; }

    public override MessageRecord ToRecord(IMessageContext context) =>
        new LineRecord(context.Header(StartNs)) { Question = Question, Answer = Answer };
}

/// <summary>The toy protocol's record: what a protocol's folder adds besides its parser.</summary>
internal sealed record LineRecord : MessageRecord
{
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public LineRecord(in MessageHeader header)
        : base(in header)
    {
    }

    public override string Type => "line";

    public string Question { get; init; } = "";

    public string? Answer { get; init; }

    public override void WriteFields(Utf8JsonWriter w)
    {
        w.WriteString("question", Question);
        w.WriteString("answer", Answer);
    }

    public override void Describe(LiveLine line) =>
        line.Word(LiveStyle.Cyan, "line").Space().Text(Question).Space().Arrow(Role).Space().Text(Answer).Conn(Conn);
}
