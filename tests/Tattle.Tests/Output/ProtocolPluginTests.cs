using System.Text;
using System.Text.Json;
using Tattle.Output.Console;
using Tattle.Output.JsonLines;
using Tattle.Protocols;
using Tattle.Records;
using Tattle.Tests.Tracking.Streams;

namespace Tattle.Tests.Output;

/// <summary>
/// A protocol is one folder: its record writes its own fields and live line, so sinks that never heard of a
/// protocol still write every one of its messages (the toy line protocol here lives only in the tests).
/// </summary>
public class ProtocolPluginTests
{
    private static readonly MessageHeader Header = new(1_700_000_000_000_000_000, 42, "client", "c7", "client", new Endpoint("10.0.0.1", 7000));

    [Fact]
    public void JsonLinesWritesARecordTypeItHasNoCodeFor()
    {
        var stream = new MemoryStream();
        using (var sink = new JsonLinesSink(stream, ownsStream: false))
        {
            sink.Write(new LineRecord(Header) { Question = "ping", Answer = "pong", LatencyMs = 1.5 });
        }
        using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(stream.ToArray()));
        var r = doc.RootElement;
        Assert.Equal("line", r.GetProperty("type").GetString());
        Assert.Equal("c7", r.GetProperty("conn").GetString());
        Assert.Equal(7000, r.GetProperty("remote").GetProperty("port").GetInt32());
        Assert.Equal("ping", r.GetProperty("question").GetString());
        Assert.Equal("pong", r.GetProperty("answer").GetString());
        Assert.Equal(1.5, r.GetProperty("latency_ms").GetDouble());
    }

    [Fact]
    public void LiveViewShowsARecordTypeItHasNoCodeFor()
    {
        var text = new StringWriter();
        using (var view = new LiveView(text, color: false, startUnixNs: Header.TimestampNs))
        {
            view.Write(new LineRecord(Header) { Question = "ping", Answer = "pong" });
        }
        Assert.Contains("client[42] line ping -> pong c7", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void EveryCatalogProtocolHasADistinctName()
    {
        var names = ProtocolCatalog.Default.Protocols.Select(p => p.Name).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(ProtocolCatalog.Default.Protocols, p => Assert.NotNull(ProtocolCatalog.Default.Find(p.Name)));
    }
}
