using System.Globalization;
using System.Text.Json;
using Tattle.Records;

namespace Tattle.Output.JsonLines;

/// <summary>The JSON form of each record type (field names are part of the documented, stable schema).</summary>
public static class RecordJson
{
    public static void Write(Utf8JsonWriter w, Record r)
    {
        w.WriteStartObject();
        w.WriteString("type", r.Type);
        w.WriteString("ts", FormatTimestamp(r.TimestampNs));
        w.WriteNumber("pid", r.Pid);
        w.WriteString("comm", r.Comm);
        switch (r)
        {
            case ProcessStartRecord p:
                w.WriteNumber("ppid", p.ParentPid);
                WriteStrings(w, "argv", p.Argv);
                if (p.Exe is not null)
                {
                    w.WriteString("exe", p.Exe);
                }
                w.WriteBoolean("existing", p.Existing);
                break;
            case ProcessExecRecord x:
                WriteStrings(w, "argv", x.Argv);
                if (x.Exe is not null)
                {
                    w.WriteString("exe", x.Exe);
                }
                break;
            case ProcessExitRecord x:
                if (x.ExitCode is { } code)
                {
                    w.WriteNumber("exit_code", code);
                }
                if (x.Signal is { } sig)
                {
                    w.WriteNumber("signal", sig);
                }
                break;
            case ConnRecord c:
                WriteConn(w, c);
                break;
            case ListenRecord l:
                w.WriteString("proto", l.Proto);
                w.WriteNumber("fd", l.Fd);
                WriteEndpoint(w, "local", l.Local);
                w.WriteBoolean("existing", l.Existing);
                break;
            case DataRecord d:
                w.WriteString("conn", d.Conn);
                w.WriteString("dir", d.Dir);
                w.WriteNumber("len", d.Len);
                if (d.Offset != 0)
                {
                    w.WriteNumber("offset", d.Offset);
                }
                w.WriteNumber("captured", d.Captured);
                if (d.Truncated)
                {
                    w.WriteBoolean("truncated", true);
                }
                if (d.Tls)
                {
                    w.WriteBoolean("tls", true);
                }
                w.WriteBase64String("b64", d.Payload.Span);
                if (d.Peer is not null)
                {
                    WriteEndpoint(w, "peer", d.Peer);
                }
                break;
            case LossRecord l:
                w.WriteNumber("count", l.Count);
                w.WriteString("where", l.Where);
                break;
            case NoticeRecord n:
                w.WriteString("message", n.Message);
                break;
            case SummaryRecord s:
                WriteSummary(w, s);
                break;
            case MessageRecord m:
                MessageJson.Write(w, m);
                break;
            case GapRecord g:
                w.WriteString("conn", g.Conn);
                w.WriteString("dir", g.Dir);
                w.WriteNumber("bytes", g.Bytes);
                w.WriteString("reason", g.Reason);
                break;
        }
        w.WriteEndObject();
    }

    /// <summary>RFC 3339, UTC, microseconds: 2026-11-22T04:05:06.123456Z.</summary>
    public static string FormatTimestamp(long unixNs) =>
        DateTime.UnixEpoch.AddTicks(unixNs / 100).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static void WriteConn(Utf8JsonWriter w, ConnRecord c)
    {
        w.WriteString("conn", c.Conn);
        w.WriteString("proto", c.Proto);
        w.WriteString("role", c.Role);
        w.WriteNumber("fd", c.Fd);
        WriteEndpoint(w, "local", c.Local);
        WriteEndpoint(w, "remote", c.Remote);
        switch (c)
        {
            case ConnOpenRecord o:
                w.WriteBoolean("existing", o.Existing);
                break;
            case ConnFailRecord f:
                w.WriteString("error", f.Error);
                w.WriteBoolean("existing", f.Existing);
                break;
            case ConnCloseRecord x:
                w.WriteNumber("bytes_sent", x.BytesSent);
                w.WriteNumber("bytes_recv", x.BytesRecv);
                w.WriteNumber("duration_ms", Math.Round(x.DurationMs, 3));
                if (x.Unseen.Count > 0)
                {
                    WriteStrings(w, "unseen", x.Unseen);
                }
                break;
        }
    }

    private static void WriteSummary(Utf8JsonWriter w, SummaryRecord s)
    {
        w.WriteNumber("duration_ms", Math.Round(s.DurationMs, 3));
        w.WriteNumber("processes", s.Processes);
        w.WriteNumber("events", s.Events);
        w.WriteNumber("lost", s.Lost);
        if (s.Tls is { } tls)
        {
            w.WriteStartObject("tls");
            w.WriteNumber("functions", tls.Functions);
            w.WriteNumber("calls", tls.Calls);
            w.WriteNumber("untraced_hits", tls.UntracedHits);
            w.WriteNumber("without_socket", tls.WithoutSocket);
            WriteStrings(w, "failures", tls.Failures);
            w.WriteEndObject();
        }
        w.WriteStartArray("rows");
        foreach (var row in s.Rows)
        {
            w.WriteStartObject();
            w.WriteNumber("pid", row.Pid);
            w.WriteString("comm", row.Comm);
            w.WriteString("proto", row.Proto);
            w.WriteString("role", row.Role);
            WriteEndpoint(w, "endpoint", row.Endpoint);
            w.WriteNumber("connections", row.Connections);
            w.WriteNumber("bytes_sent", row.BytesSent);
            w.WriteNumber("bytes_recv", row.BytesRecv);
            WriteStrings(w, "protocols", row.Protocols.ToList());
            w.WriteStartObject("errors");
            foreach (var (name, count) in row.Errors)
            {
                w.WriteNumber(name, count);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    internal static void WriteEndpoint(Utf8JsonWriter w, string name, Endpoint? ep)
    {
        if (ep is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartObject(name);
        if (ep.Path is not null)
        {
            w.WriteString("path", ep.Path);
        }
        else
        {
            if (ep.Addr is not null)
            {
                w.WriteString("addr", ep.Addr);
            }
            if (ep.Port is { } port)
            {
                w.WriteNumber("port", port);
            }
        }
        if (ep.Host is not null)
        {
            w.WriteString("host", ep.Host);
        }
        w.WriteEndObject();
    }

    internal static void WriteStrings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }
        w.WriteEndArray();
    }
}
