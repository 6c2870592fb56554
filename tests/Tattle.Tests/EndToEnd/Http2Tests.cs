using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// HTTP/2 and gRPC parsed from real programs' traffic, end to end: curl, nghttp and h2load against nghttpd (h2c and
/// h2 over TLS), python grpcio, node's http2 (both ends in one process), the h2c Upgrade, and attach to a connection
/// already under way.
/// </summary>
[Collection("bpf")]
public sealed partial class Http2Tests(ITestOutputHelper output)
{
    private static bool IsVersion2(JsonElement http) => Str(http, "version") == "2";

    private static int Stream(JsonElement http) => Int(http, "stream");

    private static JsonElement Grpc(JsonElement http) => http.GetProperty("grpc");

    private static string? Header(JsonElement http, string headers, string name) =>
        http.TryGetProperty(headers, out var h) && h.ValueKind == JsonValueKind.Object ? Str(h, name) : null;

    private static bool HeadersIncomplete(JsonElement http) =>
        http.TryGetProperty("headers_incomplete", out var v) && v.ValueKind == JsonValueKind.True;

    private List<JsonElement> Http2Records(TattleResult r)
    {
        var records = r.OfType("http").Where(IsVersion2).ToList();
        foreach (var h in r.OfType("http").Take(50))
        {
            output.WriteLine(h.GetRawText());
        }
        return records;
    }

    [SkippableFact]
    public async Task CurlPriorKnowledge_AgainstNghttpd_IsOneStreamWithTheFile()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        Requires.Program(output, "nghttpd");
        using var server = Http2Servers.Nghttpd();
        var r = await TattleCli.RunAsync(["run", "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_version} %{size_download}",
            "--http2-prior-knowledge", $"http://127.0.0.1:{server.Port}/x"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal($"2 {Http2Servers.FileSize}", r.Stdout.Trim());

        var http = Assert.Single(r.OfType("http"));
        Assert.True(IsVersion2(http));
        Assert.Equal(1, Stream(http));
        Assert.Equal(("GET", "/x", 200), (Str(http, "method"), Str(http, "path"), Int(http, "status")));
        Assert.Equal($"127.0.0.1:{server.Port}", Str(http, "host"));
        Assert.Equal("client", Str(http, "role"));
        Assert.False(http.GetProperty("tls").GetBoolean());
        Assert.False(http.GetProperty("truncated").GetBoolean());
        Assert.Equal(Http2Servers.FileSize.ToString(), Header(http, "resp_headers", "content-length"));
        // The response is its header block and the body: more than the file, by no more than a header block.
        long respBytes = http.GetProperty("resp_bytes").GetInt64();
        Assert.InRange(respBytes, Http2Servers.FileSize, Http2Servers.FileSize + 512);
        Assert.True(http.GetProperty("latency_ms").GetDouble() > 0);
        Assert.Contains("h2 GET /x -> 200", r.Stderr);
        Assert.Empty(r.OfType("gap"));
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());

        // The frames no stream owns: both peers' SETTINGS and their acknowledgements, after the stream's record.
        var connection = Assert.Single(r.OfType("http.connection"));
        Assert.Equal(Str(http, "conn"), Str(connection, "conn"));
        Assert.Equal(1, connection.GetProperty("streams").GetInt64());
        Assert.InRange(connection.GetProperty("settings").GetInt64(), 4, 8);
        Assert.Equal(0, connection.GetProperty("evicted_streams").GetInt64());
    }

    [SkippableFact]
    public async Task CurlOverTls_AlpnH2_IsReadInPlaintext()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        Requires.Program(output, "nghttpd");
        Requires.Program(output, "openssl");
        using var server = Http2Servers.Nghttpd(tls: true);
        // TLS 1.2: on 1.3 the server's ALPN choice travels encrypted, and the handshake record says null.
        var r = await TattleCli.RunAsync(["run", "--", "curl", "-sk", "-o", "/dev/null", "-w", "%{http_version}",
            "--http2", "--tls-max", "1.2", $"https://127.0.0.1:{server.Port}/x"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("2", r.Stdout.Trim());

        var handshake = Assert.Single(r.OfType("tls.handshake"));
        Assert.Equal("h2", Str(handshake, "alpn"));
        Assert.Contains("h2", handshake.GetProperty("alpn_offered").EnumerateArray().Select(a => a.GetString()));
        var http = Assert.Single(Http2Records(r));
        Assert.True(http.GetProperty("tls").GetBoolean());
        Assert.Equal(Str(handshake, "conn"), Str(http, "conn"));
        Assert.Equal((1, "GET", "/x", 200), (Stream(http), Str(http, "method"), Str(http, "path"), Int(http, "status")));
        Assert.Equal(Http2Servers.FileSize.ToString(), Header(http, "resp_headers", "content-length"));
        Assert.Contains("h2 GET /x -> 200", r.Stderr);
        Assert.True(r.Summary.GetProperty("tls").GetProperty("calls").GetInt64() >= 2);
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    /// <summary>
    /// .NET's HttpClient asking for HTTP/2 over TLS: its TLS runs over a memory BIO (no syscall inside SSL_read), so
    /// the plaintext is bound to the socket by the thread's own I/O; two requests share the connection.
    /// </summary>
    [SkippableFact]
    public async Task DotnetHttpClient_Http2OverTls_TwoStreamsOnOneConnection()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "nghttpd");
        Requires.Program(output, "openssl");
        using var server = Http2Servers.Nghttpd(tls: true);
        string url = $"https://127.0.0.1:{server.Port}/x";
        var r = await TattleCli.RunAsync(["run", "--", .. DotnetHttpsClient.Command("--http2"), url, url]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal([$"200 {Http2Servers.FileSize} 2.0", $"200 {Http2Servers.FileSize} 2.0"], r.Stdout.Trim().Split('\n'));

        var streams = Http2Records(r).ToList();
        Assert.Equal([1, 3], streams.Select(Stream));
        Assert.All(streams, http =>
        {
            Assert.True(http.GetProperty("tls").GetBoolean());
            Assert.Equal(("GET", "/x", 200), (Str(http, "method"), Str(http, "path"), Int(http, "status")));
            Assert.Equal(Http2Servers.FileSize.ToString(), Header(http, "resp_headers", "content-length"));
        });
        Assert.Single(streams.Select(http => Str(http, "conn")).Distinct());
        Assert.False(streams[0].TryGetProperty("tls_session", out _)); // bound to its socket, not a stand-in
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    /// <summary>
    /// h2load, 1000 requests over 4 connections, 8 streams at a time: every stream is one record, each connection
    /// carries its 250. Records lost under load must show as loss on the connections that miss streams.
    /// </summary>
    [SkippableFact]
    public async Task H2load_EveryStreamIsOneRecord()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "h2load");
        Requires.Program(output, "nghttpd");
        using var server = Http2Servers.Nghttpd();
        const int Requests = 1000, Clients = 4;
        var r = await TattleCli.RunAsync(["run", "-q", "--", "h2load", "-n", Requests.ToString(), "-c", Clients.ToString(), "-m", "8",
            $"http://127.0.0.1:{server.Port}/x"], TimeSpan.FromSeconds(120));
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"requests: {Requests} total, {Requests} started, {Requests} done, {Requests} succeeded", r.Stdout);

        var http = r.OfType("http").ToList();
        Assert.All(http, h => Assert.True(IsVersion2(h)));
        Assert.Equal(http.Count, http.Select(h => (Str(h, "conn"), Stream(h))).Distinct().Count());
        var conns = r.OfType("conn.open").Where(o => Str(o, "proto") == "tcp").Select(o => Str(o, "conn")!).ToList();
        Assert.Equal(Clients, conns.Count);
        // h2load's streams of one connection are 1, 3, … 499; none other may be reported.
        var everyStream = Enumerable.Range(0, Requests / Clients).Select(i => 2 * i + 1).ToList();
        foreach (var conn in conns)
        {
            Assert.Subset(everyStream.ToHashSet(), http.Where(h => Str(h, "conn") == conn).Select(Stream).ToHashSet());
        }
        bool Whole(JsonElement h) => !h.GetProperty("truncated").GetBoolean() && !HeadersIncomplete(h) && Line(h) == "GET /x 200";
        var whole = http.Where(Whole).ToList();
        var marked = http.Where(h => !Whole(h)).ToList();
        int missing = Requests - http.Count;
        long lost = r.Summary.GetProperty("lost").GetInt64();
        output.WriteLine($"{whole.Count} whole, {marked.Count} truncated or incomplete, {missing} missing, {lost} records lost");
        // Whatever is not whole says so (truncated, headers_incomplete) and still names no other request.
        Assert.All(marked, h => Assert.True(h.GetProperty("truncated").GetBoolean() || HeadersIncomplete(h), h.GetRawText()));
        Assert.All(marked, h => Assert.True(Str(h, "path") is null or "/x" && Str(h, "method") is null or "GET", h.GetRawText()));
        if (lost == 0)
        {
            Assert.Equal(Requests, whole.Count);
            foreach (var conn in conns)
            {
                Assert.Equal(everyStream, http.Where(h => Str(h, "conn") == conn).Select(Stream).Order());
            }
            Assert.Empty(r.OfType("gap"));
        }
        else
        {
            // Under loss (an overloaded machine): each of the 1000 is whole, marked or missing, and the summary
            // owns up to the loss that explains the rest.
            Assert.Equal(Requests, whole.Count + marked.Count + missing);
            Assert.InRange(missing, 0, Requests);
        }
    }

    [SkippableFact]
    public async Task PythonGrpc_UnaryErrorAndStreaming_AreCallsWithTheirStatus()
    {
        Requires.RootAndBpf(output);
        Requires.FileFrom(output, "/usr/bin/python3", "python3");
        Requires.FileFrom(output, "/usr/lib/python3/dist-packages/grpc/__init__.py", "python3-grpcio");
        using var server = Http2Servers.Grpc();
        var r = await TattleCli.RunAsync(["run", "--", "/usr/bin/python3", Http2Servers.Peers, "grpc-client", server.Port.ToString()]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("Echo echo:hello\nMissing NOT_FOUND no such item\nCount 5", r.Stdout.Trim());

        var calls = Http2Records(r).Where(h => h.TryGetProperty("grpc", out _)).ToDictionary(h => Str(Grpc(h), "method")!);
        Assert.Equal(["Count", "Echo", "Missing"], calls.Keys.Order());
        Assert.All(calls.Values, h => Assert.Equal("demo.v1.Items", Str(Grpc(h), "service")));
        Assert.All(calls.Values, h => Assert.Equal("POST", Str(h, "method")));
        Assert.All(calls.Values, h => Assert.Equal(200, Int(h, "status")));
        Assert.Single(calls.Values.Select(h => Str(h, "conn")).Distinct());

        var echo = Grpc(calls["Echo"]);
        Assert.Equal("/demo.v1.Items/Echo", Str(calls["Echo"], "path"));
        Assert.Equal(("OK", 0), (Str(echo, "status"), Int(echo, "code")));
        Assert.Equal((1, 1), (Int(echo, "req_messages"), Int(echo, "resp_messages")));
        Assert.Equal(("hello".Length, "echo:hello".Length), (Int(echo, "req_message_bytes"), Int(echo, "resp_message_bytes")));

        var missing = Grpc(calls["Missing"]);
        Assert.Equal(("NOT_FOUND", 5, "no such item"), (Str(missing, "status"), Int(missing, "code"), Str(missing, "message")));
        Assert.Equal(0, Int(missing, "resp_messages"));

        var count = Grpc(calls["Count"]);
        Assert.Equal(("OK", 0), (Str(count, "status"), Int(count, "code")));
        Assert.Equal((1, 5), (Int(count, "req_messages"), Int(count, "resp_messages")));
        // "item 0" … "item 4".
        Assert.Equal(5 * "item 0".Length, Int(count, "resp_message_bytes"));
        Assert.All(calls.Values, h => Assert.False(Grpc(h).GetProperty("compressed").GetBoolean()));

        Assert.Contains("grpc /demo.v1.Items/Echo -> OK", r.Stderr);
        Assert.Contains("grpc /demo.v1.Items/Missing -> NOT_FOUND", r.Stderr);
        Assert.Contains("grpc /demo.v1.Items/Count -> OK", r.Stderr);
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    /// <summary>
    /// node's http2 with both ends in one process: each stream shows twice, as the client and as the server saw
    /// it, and the stream the client cancels ends in its RST_STREAM on both sides.
    /// </summary>
    [SkippableFact]
    public async Task Node_ClientAndServerInOneProcess_ReportEachStreamOnBothSides()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "node");
        var r = await TattleCli.RunAsync(["run", "--", "node", Http2Servers.NodeScript, "pair"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("/status/200 200\n/status/201 201\n/missing 404\n/slow cancelled", r.Stdout.Trim());

        var http = Http2Records(r);
        (string Path, int Status)[] expected = [("/status/200", 200), ("/status/201", 201), ("/missing", 404), ("/slow", 200)];
        foreach (var role in (string[])["client", "server"])
        {
            var side = http.Where(h => Str(h, "role") == role).OrderBy(Stream).ToList();
            Assert.Equal(expected, side.Select(h => (Str(h, "path")!, Int(h, "status"))));
            Assert.Equal([1, 3, 5, 7], side.Select(Stream));
            Assert.Single(side.Select(h => Str(h, "conn")).Distinct());
            Assert.All(side.Take(3), h => Assert.False(h.TryGetProperty("error", out _), h.GetRawText()));
            var error = side[3].GetProperty("error");
            Assert.Equal(("RST_STREAM", "CANCEL", 8, "client"), (Str(error, "frame"), Str(error, "name"), Int(error, "code"), Str(error, "by")));
        }
        Assert.Contains("h2 GET /status/201 -> 201", r.Stderr);
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    [SkippableFact]
    public async Task CurlUpgradeH2c_IsA101ThenStreamOne()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        Requires.FileFrom(output, "/usr/lib/python3/dist-packages/h2/__init__.py", "python3-h2");
        using var server = Http2Servers.PythonH2();
        var r = await TattleCli.RunAsync(["run", "--", "curl", "-s", "--http2", $"http://127.0.0.1:{server.Port}/first"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("answer to /first on stream 1", r.Stdout.Trim());

        var http = r.OfType("http").ToList();
        Assert.Equal(2, http.Count);
        var upgrade = Assert.Single(http, h => Str(h, "version") == "HTTP/1.1");
        Assert.Equal(("HTTP/1.1", "GET", "/first", 101), (Str(upgrade, "version"), Str(upgrade, "method"), Str(upgrade, "path"), Int(upgrade, "status")));
        Assert.Equal("h2c", Str(upgrade, "upgrade"));
        var stream1 = Assert.Single(http, IsVersion2);
        Assert.Equal((1, "GET", "/first", 200), (Stream(stream1), Str(stream1, "method"), Str(stream1, "path"), Int(stream1, "status")));
        Assert.Equal(Str(upgrade, "conn"), Str(stream1, "conn"));
        Assert.Equal("answer to /first on stream 1\n".Length.ToString(), Header(stream1, "resp_headers", "content-length"));
        Assert.Empty(r.OfType("gap"));
    }

    /// <summary>nghttp -u: the upgrading request is stream 1, the second URI goes as HTTP/2 on the stream nghttp opens.</summary>
    [SkippableFact]
    public async Task NghttpUpgradeH2c_ReportsBothStreams()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "nghttp");
        Requires.FileFrom(output, "/usr/lib/python3/dist-packages/h2/__init__.py", "python3-h2");
        using var server = Http2Servers.PythonH2();
        var r = await TattleCli.RunAsync(["run", "-q", "--", "nghttp", "-nv", "-u",
            $"http://127.0.0.1:{server.Port}/first", $"http://127.0.0.1:{server.Port}/second"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        // nghttp opens idle streams for priorities (PRIORITY frames) first: the request's stream is the one its
        // HEADERS went on, as its verbose output says.
        var sent = SentHeadersStream().Matches(r.Stdout).Select(m => int.Parse(m.Groups[1].Value)).ToList();
        int second = Assert.Single(sent);

        var http = r.OfType("http").ToList();
        var upgrade = Assert.Single(http, h => Str(h, "version") == "HTTP/1.1");
        Assert.Equal((101, "h2c"), (Int(upgrade, "status"), Str(upgrade, "upgrade")));
        var streams = http.Where(IsVersion2).OrderBy(Stream).Select(h => (Stream(h), Str(h, "path")!, Int(h, "status")));
        Assert.Equal([(1, "/first", 200), (second, "/second", 200)], streams);
        Assert.Empty(r.OfType("gap"));
    }

    /// <summary>
    /// Attach to a client halfway through one long HTTP/2 connection (a request every 0.1 s to /n/1, /n/2, …;
    /// the server answers x-n: N, never indexed): the requests after the attach are reported, each with its own
    /// answer; what the decoder could not know (entries of the dynamic table from before) is marked incomplete,
    /// never filled in wrongly.
    /// </summary>
    [SkippableFact]
    public async Task AttachMidConnection_LaterStreamsAreReportedWithTheirOwnAnswers()
    {
        Requires.RootAndBpf(output);
        Requires.FileFrom(output, "/usr/lib/python3/dist-packages/h2/__init__.py", "python3-h2");
        using var server = Http2Servers.PythonH2();
        string stop = Path.Combine(server.Directory, "stop");
        using var client = Process.Start(new ProcessStartInfo(Py.Exe, ["-u", Http2Servers.Peers, "counter-client", server.Port.ToString(), stop])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        // Each line is "n x-n" once the n-th answer came.
        async Task<string> AnsweredAsync(int count)
        {
            string last = "";
            for (int i = 0; i < count && await client.StandardOutput.ReadLineAsync() is { } line; i++)
            {
                last = line;
            }
            return last;
        }
        Assert.Equal("10 10", await AnsweredAsync(10));
        using var tattle = TattleCli.Start(["attach", "-p", client.Id.ToString()]);
        await tattle.WaitForRecordsAsync("process.start", 1, TimeSpan.FromSeconds(60));
        // Ten exchanges while traced (counted in tattle's records: the client's lines wait in its pipe while tattle
        // starts, so they say nothing of what was traced), then the client stops after the request under way, and
        // tattle with it.
        await tattle.WaitForRecordsAsync("http", 10, TimeSpan.FromSeconds(60));
        File.WriteAllText(stop, "");
        var rest = (await client.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string last = rest[^1];
        await client.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, client.ExitCode);
        int requests = int.Parse(last.Split(' ')[0]);
        Assert.Equal($"{requests} {requests}", last);
        await Task.Delay(500);
        var r = await tattle.StopAsync();
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);

        var http = Http2Records(r);
        Assert.NotEmpty(http);
        Assert.Single(http.Select(h => Str(h, "conn")).Distinct());
        var numbered = new List<int>();
        foreach (var h in http)
        {
            string? path = Str(h, "path");
            string? xn = Header(h, "resp_headers", "x-n");
            if (path is null || Str(h, "method") is null || !h.TryGetProperty("status", out var s) || s.ValueKind != JsonValueKind.Number)
            {
                Assert.True(HeadersIncomplete(h), $"a record missing a field is marked: {h.GetRawText()}");
            }
            if (path is null)
            {
                continue;
            }
            Assert.StartsWith("/n/", path);
            int n = int.Parse(path[3..]);
            numbered.Add(n);
            // The client's streams are 1, 3, 5, …: the n-th request is stream 2n-1.
            Assert.Equal(2 * n - 1, Stream(h));
            Assert.Equal(n.ToString(), xn);
            Assert.Equal(200, Int(h, "status"));
            // The authority went into the dynamic table with the first request, before the attach.
            if (Str(h, "host") is { } host)
            {
                Assert.Equal($"127.0.0.1:{server.Port}", host);
            }
            else
            {
                Assert.True(HeadersIncomplete(h), h.GetRawText());
            }
        }
        // Everything from the first stream seen to the last request, once each: none skipped, none twice.
        Assert.True(numbered.Count > 0 && numbered.Min() > 10, string.Join(' ', numbered));
        Assert.Equal(Enumerable.Range(numbered.Min(), requests - numbered.Min() + 1), numbered.Order());
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    [GeneratedRegex(@"send HEADERS frame <[^>]*stream_id=(\d+)>")]
    private static partial Regex SentHeadersStream();
}
