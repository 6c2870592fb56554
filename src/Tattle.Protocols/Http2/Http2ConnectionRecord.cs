using System.Globalization;
using System.Text.Json;
using Tattle.Records;
using Tattle.Records.Json;
using Tattle.Records.Live;

namespace Tattle.Protocols.Http2;

/// <summary>
/// What an HTTP/2 connection carried besides its streams (RFC 9113 §6: SETTINGS, PING, WINDOW_UPDATE, PRIORITY,
/// GOAWAY), written once when it ends, after its streams' records.
/// </summary>
public sealed record Http2ConnectionRecord : MessageRecord
{
    /// <summary>A per-connection record, not a request.</summary>
    public override bool IsRequest => false;

    public Http2ConnectionRecord()
    {
    }

    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public Http2ConnectionRecord(in MessageHeader header)
        : base(in header)
    {
    }

    public override string Type => "http.connection";

    /// <summary>Read as TLS plaintext (ALPN h2) rather than from the socket.</summary>
    public bool Tls { get; init; }

    public long Streams { get; init; }

    public long Settings { get; init; }

    public long Pings { get; init; }

    public long WindowUpdates { get; init; }

    public long Priorities { get; init; }

    public long GoAways { get; init; }

    /// <summary>Frames of types RFC 9113 does not define (ignored, §5.5).</summary>
    public long UnknownFrames { get; init; }

    /// <summary>Streams reported early, truncated, because the connection held more open than Tattle keeps.</summary>
    public long EvictedStreams { get; init; }

    /// <summary>From the first frame seen to the end of the connection.</summary>
    public double DurationMs { get; init; }

    public override void WriteFields(Utf8JsonWriter w)
    {
        w.WriteBoolean(JsonNames.Tls, Tls);
        w.WriteNumber(Names.Streams, Streams);
        w.WriteNumber(Names.Settings, Settings);
        w.WriteNumber(Names.Pings, Pings);
        w.WriteNumber(Names.WindowUpdates, WindowUpdates);
        w.WriteNumber(Names.Priorities, Priorities);
        w.WriteNumber(Names.GoAways, GoAways);
        w.WriteNumber(Names.UnknownFrames, UnknownFrames);
        w.WriteNumber(Names.EvictedStreams, EvictedStreams);
        JsonFields.WriteMilliseconds(w, JsonNames.DurationMs, DurationMs);
    }

    public override void Describe(LiveLine line)
    {
        line.Word(LiveStyle.Cyan, "h2 connection").Space().Word(Count(Streams, "stream")).Word(", ")
            .Word(Count(Settings, "SETTINGS")).Word(", ").Word(Count(Pings, "PING")).Word(", ")
            .Word(Count(WindowUpdates, "WINDOW_UPDATE"));
        if (GoAways > 0)
        {
            line.Word(", ").Word(LiveStyle.Yellow, Count(GoAways, "GOAWAY"));
        }
        if (EvictedStreams > 0)
        {
            line.Word(", ").Word(LiveStyle.Red, EvictedStreams.ToString(CultureInfo.InvariantCulture) + " cut short (too many open)");
        }
        line.Conn(Conn);
    }

    private static string Count(long n, string what) =>
        n.ToString(CultureInfo.InvariantCulture) + " " + what + (n == 1 || what.Any(char.IsUpper) ? "" : "s");

    private static class Names
    {
        public static readonly JsonEncodedText Streams = JsonEncodedText.Encode("streams");
        public static readonly JsonEncodedText Settings = JsonEncodedText.Encode("settings");
        public static readonly JsonEncodedText Pings = JsonEncodedText.Encode("pings");
        public static readonly JsonEncodedText WindowUpdates = JsonEncodedText.Encode("window_updates");
        public static readonly JsonEncodedText Priorities = JsonEncodedText.Encode("priorities");
        public static readonly JsonEncodedText GoAways = JsonEncodedText.Encode("goaways");
        public static readonly JsonEncodedText UnknownFrames = JsonEncodedText.Encode("unknown_frames");
        public static readonly JsonEncodedText EvictedStreams = JsonEncodedText.Encode("evicted_streams");
    }
}
