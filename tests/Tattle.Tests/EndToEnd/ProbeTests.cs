using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Tattle.Capture.Elf;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// tattle probe on real programs: python3-zmq's REQ/REP against the counts the script prints, getaddrinfo against a
/// resolver made slow on purpose, attach and detach on a multi-threaded program (its code checked for breakpoints),
/// --count, python's USDT probes, and bad input.
/// </summary>
[Collection("bpf")]
public sealed class ProbeTests(ITestOutputHelper output)
{
    private const string Python = "/usr/bin/python3";

    private static string Script(string name) => Path.Combine(AppContext.BaseDirectory, "testdata", "probe", name);

    private static IEnumerable<JsonElement> Calls(TattleResult r, string function) =>
        r.OfType("call").Where(c => Str(c, "function") == function);

    private static JsonElement LastJsonLine(string stdout) =>
        JsonDocument.Parse(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith('{'))).RootElement;

    [SkippableFact]
    public async Task ZmqReqRep_CallsAreTheOnesTheScriptMade_OnTheirThreads_BesideTheZmtpRecords()
    {
        Requires.RootAndBpf(output);
        Requires.FileFrom(output, "/usr/lib/python3/dist-packages/zmq/__init__.py", "python3-zmq");
        var r = await TattleCli.RunAsync(["probe", "libzmq:zmq_msg_send", "libzmq:zmq_msg_recv", "libzmq:zmq_bind", "libzmq:zmq_connect",
            "--", Python, Script("reqrep.py"), "7"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var counts = LastJsonLine(r.Stdout);
        foreach (string end in new[] { "client", "server" })
        {
            int tid = counts.GetProperty(end).GetProperty("tid").GetInt32();
            // pyzmq sends and receives through zmq_msg_send/zmq_msg_recv, one call per message.
            Assert.Equal(counts.GetProperty(end).GetProperty("sent").GetInt32(), Calls(r, "zmq_msg_send").Count(c => c.GetProperty("tid").GetInt32() == tid));
            Assert.Equal(counts.GetProperty(end).GetProperty("received").GetInt32(), Calls(r, "zmq_msg_recv").Count(c => c.GetProperty("tid").GetInt32() == tid));
        }
        var messaging = Calls(r, "zmq_msg_send").Concat(Calls(r, "zmq_msg_recv")).ToList();
        Assert.Equal(28, messaging.Count);
        Assert.All(messaging, c =>
        {
            Assert.True(c.GetProperty("duration_us").GetDouble() > 0);
            Assert.StartsWith("libzmq.so.5", Str(c, "library")); // the file the process maps: libzmq.so.5.2.4 here
            Assert.Equal(["msg", "socket", "flags"], c.GetProperty("arg_names").EnumerateArray().Select(a => a.GetString()));
        });
        // The result of a send or receive is the message's size: "hello N" out, "re:hello N" back.
        Assert.All(Calls(r, "zmq_msg_send").Where(c => c.GetProperty("tid").GetInt32() == counts.GetProperty("client").GetProperty("tid").GetInt32()),
            c => Assert.Equal(7, c.GetProperty("ret").GetInt32()));
        var bind = Assert.Single(Calls(r, "zmq_bind"));
        Assert.Equal("tcp://127.0.0.1:*", bind.GetProperty("args")[1].GetString());
        var connect = Assert.Single(Calls(r, "zmq_connect"));
        Assert.Equal(counts.GetProperty("endpoint").GetString(), connect.GetProperty("args")[1].GetString());
        Assert.Equal(0, connect.GetProperty("ret").GetInt32());
        // The connections of the same run carry the messages, parsed from the wire.
        Assert.Equal(2 * 7, r.OfType("zmtp").Count(x => Str(x, "kind") == "message" && Str(x, "socket_type") == "REQ"));
        var stats = r.Summary.GetProperty("calls").EnumerateArray().ToDictionary(s => Str(s, "function")!, s => s.GetProperty("calls").GetInt32());
        Assert.Equal(14, stats["zmq_msg_send"]);
        Assert.Equal(14, stats["zmq_msg_recv"]);
        Assert.Equal(0, r.Summary.GetProperty("probes").GetProperty("unmatched_returns").GetInt32());
        Assert.Contains("call zmq_connect(socket=0x", r.Stderr);
    }

    [SkippableFact]
    public async Task SlowResolver_GetaddrinfoShowsTheNameAndTheWait_AndItsDnsConnection()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "dnsmasq");
        Requires.Program(output, "curl");
        using var inet = TestInternet.Create();
        using var dns = Programs.DnsmasqIn(inet.Netns, 5353, inet.Address, $"--address=/slow.test/{inet.Address}");
        var dir = Directory.CreateTempSubdirectory("tattle-slow-dns-").FullName;
        using var relay = ServerProcess.Start("ip", ["netns", "exec", inet.Netns, Python, Script("slow_dns.py"), inet.Address, "53", "5353", "0.3"], 53, dir, inet.Address);
        using var http = inet.Http(8000);
        // ip netns exec puts /etc/netns/NAME/resolv.conf in place of /etc/resolv.conf for the command.
        string etc = $"/etc/netns/{inet.Netns}";
        Directory.CreateDirectory(etc);
        try
        {
            File.WriteAllText($"{etc}/resolv.conf", $"nameserver {inet.Address}\noptions attempts:1 timeout:5\n");
            var r = await TattleCli.RunAsync(["probe", "libc:getaddrinfo", "--", "ip", "netns", "exec", inet.Netns,
                "curl", "-s", "-o", "/dev/null", "-m", "10", "http://slow.test:8000/"]);
            output.WriteLine(r.ToString());
            Assert.Equal(0, r.ExitCode);
            var call = Assert.Single(Calls(r, "getaddrinfo"));
            Assert.Equal("slow.test", call.GetProperty("args")[0].GetString());
            Assert.Equal("8000", call.GetProperty("args")[1].GetString());
            Assert.Equal(0, call.GetProperty("ret").GetInt32());
            Assert.InRange(call.GetProperty("duration_us").GetDouble(), 300_000, 9_000_000);
            // The query went out on a connection of the same thread during the call, and that connection carries it.
            var conns = call.GetProperty("conns").EnumerateArray().Select(c => c.GetString()).ToList();
            Assert.NotEmpty(conns);
            Assert.Contains(r.OfType("dns"), d => conns.Contains(Str(d, "conn")) && Str(d, "query") == "slow.test");
            Assert.Contains(r.OfType("http"), h => Str(h, "host")?.StartsWith("slow.test", StringComparison.Ordinal) == true);
            Assert.Matches(@"call getaddrinfo\(node=""slow\.test"", service=""8000"", hints=0x[0-9a-f]+, res=0x[0-9a-f]+\) = 0 <[0-9.]+ ms>", r.Stderr);
        }
        finally
        {
            Directory.Delete(etc, recursive: true);
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    public async Task Attach_ToARunningThreadedProgram_SeesItsThreads_AndLeavesNoBreakpointBehind()
    {
        Requires.RootAndBpf(output);
        var psi = new ProcessStartInfo(Python, [Script("resolver_threads.py"), "4"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        using var target = Process.Start(psi)!;
        try
        {
            int pid = int.Parse((await target.StandardOutput.ReadLineAsync())!, CultureInfo.InvariantCulture);
            Assert.Equal(target.Id, pid);
            var (address, original) = FunctionInProcess(pid, "libc.so.6", "getaddrinfo");
            Assert.NotEqual(0xCC, original);

            using var run = TattleCli.Start(["probe", "-p", pid.ToString(CultureInfo.InvariantCulture), "libc:getaddrinfo"]);
            await run.WaitForRecordsAsync("call", 20);
            // The kernel put its breakpoint (int3) on the function's first byte, in this process's copy of the page.
            Assert.Equal(0xCC, ReadByte(pid, address));
            var r = await run.StopAsync();
            output.WriteLine(r.ToString());
            Assert.Equal(0, r.ExitCode);
            Assert.True(Calls(r, "getaddrinfo").Select(c => c.GetProperty("tid").GetInt32()).Distinct().Count() >= 2, "calls from several threads");
            Assert.All(Calls(r, "getaddrinfo"), c => Assert.Equal("localhost", c.GetProperty("args")[0].GetString()));

            // Links close in the background at exit; once closed, the original instruction is back.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (ReadByte(pid, address) != original && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
            Assert.Equal(original, ReadByte(pid, address));
            Assert.False(target.HasExited, "the target survived attach and detach");
            target.StandardInput.Close();
            var lookups = JsonDocument.Parse((await target.StandardOutput.ReadToEndAsync()).Trim()).RootElement;
            await target.WaitForExitAsync();
            Assert.Equal(0, target.ExitCode);
            Assert.Equal(4, lookups.EnumerateObject().Count());
        }
        finally
        {
            if (!target.HasExited)
            {
                target.Kill();
            }
        }
    }

    [SkippableFact]
    public async Task Count_PrintsATableAndWritesNoCallRecords()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "getent");
        var r = await TattleCli.RunAsync(["probe", "--count", "libc:getaddrinfo", "libc:freeaddrinfo", "--", "getent", "ahosts", "localhost"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Empty(r.OfType("call"));
        var stats = r.Summary.GetProperty("calls").EnumerateArray().ToList();
        var lookup = Assert.Single(stats, s => Str(s, "function") == "getaddrinfo");
        Assert.Equal(1, lookup.GetProperty("calls").GetInt32());
        Assert.True(lookup.GetProperty("total_us").GetDouble() > 0);
        Assert.Equal(lookup.GetProperty("total_us").GetDouble(), lookup.GetProperty("max_us").GetDouble());
        Assert.Matches(@"% TIME\s+TOTAL\s+CALLS\s+ERRORS\s+P50\s+P99\s+MAX\s+FUNCTION\s+LIBRARY", r.Stderr);
        Assert.Matches(@"\s1\s+[0-9.]+ (µs|ms)\s+[0-9.]+ (µs|ms)\s+[0-9.]+ (µs|ms)\s+getaddrinfo\s+libc\.so\.6", r.Stderr);
        Assert.DoesNotContain("call getaddrinfo(", r.Stderr);
    }

    [SkippableFact]
    public async Task Usdt_PythonGarbageCollections_CarryTheGenerationAndTheCountTheScriptGot()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "/usr/bin/python3.11");
        // gc__start's generation is in memory (-4@112(%rsp)), gc__done's count in a register (-8@%r12); both probes sit
        // behind a semaphore that the kernel must count up, or python skips them.
        string code = "import gc, json\ngc.disable()\nprint(json.dumps([gc.collect(g) for g in (0, 1, 2)]), flush=True)\n";
        var r = await TattleCli.RunAsync(["probe", "usdt:python3.11:python:gc__*", "--", "/usr/bin/python3.11", "-c", code]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var collected = LastJsonLine("{\"c\":" + r.Stdout.Trim() + "}").GetProperty("c").EnumerateArray().Select(e => e.GetInt64()).ToList();
        var probes = r.OfType("call").Where(c => Str(c, "function")!.StartsWith("python:gc__", StringComparison.Ordinal)).ToList();
        Assert.All(probes, c =>
        {
            Assert.Equal("python3.11", Str(c, "library"));
            Assert.False(c.TryGetProperty("duration_us", out _));
            Assert.Equal(JsonValueKind.Null, c.GetProperty("ret").ValueKind);
        });
        // Each collection is a start and a done; the script's three are in a row: generations 0, 1, 2 and their counts.
        var pairs = probes.Chunk(2).Where(p => p.Length == 2).Select(p =>
        {
            Assert.Equal(["python:gc__start", "python:gc__done"], p.Select(c => Str(c, "function")));
            return (Generation: p[0].GetProperty("args")[0].GetInt64(), Count: p[1].GetProperty("args")[0].GetInt64());
        }).ToList();
        var expected = new[] { (0L, collected[0]), (1L, collected[1]), (2L, collected[2]) };
        Assert.Contains(Enumerable.Range(0, Math.Max(0, pairs.Count - 2)), i => pairs.Skip(i).Take(3).SequenceEqual(expected));
    }

    [SkippableFact]
    public async Task GoFunctions_GetAnEntryProbeOnly_WithArgumentsFromGosRegisters()
    {
        Requires.RootAndBpf(output);
        var go = GoPrograms.Get(output);
        // Nothing listens on port 1: the program prints the refusal and exits 1, after making the calls probed.
        const string url = "https://127.0.0.1:1/go-probe";
        var r = await TattleCli.RunAsync(["probe", $"{go.Plain}:main.get(buf:len=arg2 url, long length)", $"{go.Plain}:net/http.(*Client).do",
            "--", go.Plain, "get", url]);
        output.WriteLine(r.ToString());
        Assert.Equal(1, r.ExitCode);
        // A Go string is a pointer (RAX) and a length (RBX): the buffer's length is the second argument.
        var get = Assert.Single(Calls(r, "main.get"));
        Assert.Equal(url, get.GetProperty("args")[0].GetString());
        Assert.Equal(url.Length, get.GetProperty("args")[1].GetInt32());
        // No uretprobe on Go code: no duration, no result.
        Assert.False(get.TryGetProperty("duration_us", out _));
        Assert.Equal(JsonValueKind.Null, get.GetProperty("ret").ValueKind);
        // A method named as Go names it, receiver and package path included; once, though its first instructions
        // are the stack check that can run the function's entry twice.
        var doCall = Assert.Single(Calls(r, "net/http.(*Client).do"));
        Assert.Equal(get.GetProperty("pid").GetInt32(), doCall.GetProperty("pid").GetInt32());
        Assert.Equal(Path.GetFileName(go.Plain), Str(doCall, "library"));
        Assert.Contains($"call main.get(url=\"{url}\", length={url.Length})", r.Stderr);
    }

    [SkippableTheory]
    [InlineData("nocolon", "expected LIB:FUNCTION")]
    [InlineData("libc:", "expected LIB:FUNCTION")]
    [InlineData("lib*:f", "the library is a name or a path, not a pattern")]
    [InlineData("libc:getaddrinfo(str, blob)", "unknown type 'blob'")]
    [InlineData("libc:send(int, buf, size, int)", "buf needs its length")]
    public async Task BadSpec_IsOneLineAndExitTwo(string spec, string reason)
    {
        var r = await TattleCli.RunAsync(["probe", spec, "--", "true"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(reason, r.Stderr);
        Assert.StartsWith($"tattle: probe '{spec}'", r.Stderr);
    }

    [SkippableFact]
    public async Task MoreFunctionsThanTheCap_IsRefusedBeforeAnythingRuns()
    {
        Requires.RootAndBpf(output);
        string marker = Path.Combine(Path.GetTempPath(), $"tattle-probe-cap-{Guid.NewGuid():N}");
        var r = await TattleCli.RunAsync(["probe", "--max-probes", "5", "libc:*", "--", "touch", marker], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("more functions match than --max-probes 5 allows", r.Stderr);
        Assert.False(File.Exists(marker), "the command was not run");
    }

    [SkippableFact]
    public async Task NeitherCommandNorPid_IsBadInput()
    {
        var r = await TattleCli.RunAsync(["probe", "libc:getaddrinfo"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("probe needs a command after -- or -p PID", r.Stderr);
    }

    /// <summary>Where <paramref name="function"/> of the mapped <paramref name="library"/> is in the process, and its first byte.</summary>
    private static (ulong Address, byte First) FunctionInProcess(int pid, string library, string function)
    {
        var mapping = File.ReadAllLines($"/proc/{pid}/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 6 && Path.GetFileName(f[5]) == library).ToList();
        string path = mapping[0][5];
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(path, out var elf));
        using (elf)
        {
            Assert.Equal(ElfStatus.Ok, elf!.ReadFunctions(n => n == function, out var found));
            ulong offset = found[0].FileOffset;
            foreach (var f in mapping)
            {
                var range = f[0].Split('-');
                ulong start = ulong.Parse(range[0], NumberStyles.HexNumber), end = ulong.Parse(range[1], NumberStyles.HexNumber);
                ulong fileOffset = ulong.Parse(f[2], NumberStyles.HexNumber);
                if (f[1].Contains('x') && offset >= fileOffset && offset < fileOffset + (end - start))
                {
                    ulong address = start + (offset - fileOffset);
                    return (address, ReadByte(pid, address));
                }
            }
        }
        throw new InvalidOperationException($"{function} is not in an executable mapping of {library}");
    }

    private static byte ReadByte(int pid, ulong address)
    {
        using var mem = new FileStream($"/proc/{pid}/mem", FileMode.Open, FileAccess.Read);
        mem.Seek((long)address, SeekOrigin.Begin);
        return (byte)mem.ReadByte();
    }
}
