using System.Text.Json;

namespace Tattle.Records.Json;

/// <summary>The schema's property names, encoded once: a name given as a string is transcoded and checked for escaping on every write.</summary>
public static class JsonNames
{
    public static readonly JsonEncodedText Addr = JsonEncodedText.Encode("addr");
    public static readonly JsonEncodedText Argv = JsonEncodedText.Encode("argv");
    public static readonly JsonEncodedText B64 = JsonEncodedText.Encode("b64");
    public static readonly JsonEncodedText Bytes = JsonEncodedText.Encode("bytes");
    public static readonly JsonEncodedText BytesRecv = JsonEncodedText.Encode("bytes_recv");
    public static readonly JsonEncodedText BytesSent = JsonEncodedText.Encode("bytes_sent");
    public static readonly JsonEncodedText Calls = JsonEncodedText.Encode("calls");
    public static readonly JsonEncodedText Captured = JsonEncodedText.Encode("captured");
    public static readonly JsonEncodedText Comm = JsonEncodedText.Encode("comm");
    public static readonly JsonEncodedText Conn = JsonEncodedText.Encode("conn");
    public static readonly JsonEncodedText Connections = JsonEncodedText.Encode("connections");
    public static readonly JsonEncodedText Count = JsonEncodedText.Encode("count");
    public static readonly JsonEncodedText Data = JsonEncodedText.Encode("data");
    public static readonly JsonEncodedText Dir = JsonEncodedText.Encode("dir");
    public static readonly JsonEncodedText DurationMs = JsonEncodedText.Encode("duration_ms");
    public static readonly JsonEncodedText Endpoint = JsonEncodedText.Encode("endpoint");
    public static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
    public static readonly JsonEncodedText Errors = JsonEncodedText.Encode("errors");
    public static readonly JsonEncodedText Events = JsonEncodedText.Encode("events");
    public static readonly JsonEncodedText Exe = JsonEncodedText.Encode("exe");
    public static readonly JsonEncodedText Existing = JsonEncodedText.Encode("existing");
    public static readonly JsonEncodedText ExitCode = JsonEncodedText.Encode("exit_code");
    public static readonly JsonEncodedText Failures = JsonEncodedText.Encode("failures");
    public static readonly JsonEncodedText Fd = JsonEncodedText.Encode("fd");
    public static readonly JsonEncodedText Functions = JsonEncodedText.Encode("functions");
    public static readonly JsonEncodedText Host = JsonEncodedText.Encode("host");
    public static readonly JsonEncodedText LatencyMs = JsonEncodedText.Encode("latency_ms");
    public static readonly JsonEncodedText Len = JsonEncodedText.Encode("len");
    public static readonly JsonEncodedText Local = JsonEncodedText.Encode("local");
    public static readonly JsonEncodedText Lost = JsonEncodedText.Encode("lost");
    public static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
    public static readonly JsonEncodedText Name = JsonEncodedText.Encode("name");
    public static readonly JsonEncodedText Offset = JsonEncodedText.Encode("offset");
    public static readonly JsonEncodedText Path = JsonEncodedText.Encode("path");
    public static readonly JsonEncodedText Peer = JsonEncodedText.Encode("peer");
    public static readonly JsonEncodedText Pid = JsonEncodedText.Encode("pid");
    public static readonly JsonEncodedText Port = JsonEncodedText.Encode("port");
    public static readonly JsonEncodedText Ppid = JsonEncodedText.Encode("ppid");
    public static readonly JsonEncodedText Processes = JsonEncodedText.Encode("processes");
    public static readonly JsonEncodedText StillRunning = JsonEncodedText.Encode("still_running");
    public static readonly JsonEncodedText Proto = JsonEncodedText.Encode("proto");
    public static readonly JsonEncodedText Protocols = JsonEncodedText.Encode("protocols");
    public static readonly JsonEncodedText Requests = JsonEncodedText.Encode("requests");
    public static readonly JsonEncodedText Unanswered = JsonEncodedText.Encode("unanswered");
    public static readonly JsonEncodedText P50Ms = JsonEncodedText.Encode("p50_ms");
    public static readonly JsonEncodedText P99Ms = JsonEncodedText.Encode("p99_ms");
    public static readonly JsonEncodedText Reason = JsonEncodedText.Encode("reason");
    public static readonly JsonEncodedText Remote = JsonEncodedText.Encode("remote");
    public static readonly JsonEncodedText Role = JsonEncodedText.Encode("role");
    public static readonly JsonEncodedText Rows = JsonEncodedText.Encode("rows");
    public static readonly JsonEncodedText Signal = JsonEncodedText.Encode("signal");
    public static readonly JsonEncodedText Tls = JsonEncodedText.Encode("tls");
    public static readonly JsonEncodedText Truncated = JsonEncodedText.Encode("truncated");
    public static readonly JsonEncodedText Ts = JsonEncodedText.Encode("ts");
    public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    public static readonly JsonEncodedText Unseen = JsonEncodedText.Encode("unseen");
    public static readonly JsonEncodedText UntracedHits = JsonEncodedText.Encode("untraced_hits");
    public static readonly JsonEncodedText Version = JsonEncodedText.Encode("version");
    public static readonly JsonEncodedText Where = JsonEncodedText.Encode("where");
    public static readonly JsonEncodedText WithoutSocket = JsonEncodedText.Encode("without_socket");
    public static readonly JsonEncodedText SocketMismatches = JsonEncodedText.Encode("socket_mismatches");
}
