using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Tattle.Capture.Bpf;
using Tattle.Capture.Events;
using Tattle.Capture.Launch;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Bpf;

/// <summary>The kernel side itself: it loads, its ABI matches the C# mirror, and it never loses a record silently.</summary>
[Collection("bpf")]
public sealed class BpfProgramTests(ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData(BpfVariantRequest.Fast)]
    [InlineData(BpfVariantRequest.Fallback)]
    public void EveryProgramOfBothBuildsPassesTheVerifierAndAttaches(BpfVariantRequest variant)
    {
        Requires.RootAndBpf(output);
        using var tracer = BpfTracer.Load(new TracerOptions { Variant = variant });
        Assert.Equal(variant == BpfVariantRequest.Fast ? BpfVariant.Fast : BpfVariant.Fallback, tracer.Variant);
        tracer.Trace(Environment.ProcessId + 1_000_000);
        Assert.True(tracer.IsTraced(Environment.ProcessId + 1_000_000));
        var stats = tracer.ReadStats();
        Assert.Equal(0UL, stats.Dropped);
    }

    [SkippableFact]
    public void TheProbedCapabilitiesOfThisKernelChooseTheBuildThatLoads()
    {
        Requires.RootAndBpf(output);
        var features = KernelFeatures.Probe();
        foreach (var info in KernelCapabilities.All)
        {
            output.WriteLine($"{info.Name}: {(features.Has(info.Capability) ? "yes" : "no")}");
        }
        // Whatever the kernel, the probes must agree with the verifier: the build they choose loads, and a build
        // they rule out must not be the only one that would have.
        var choice = VariantChoice.Choose(features, BpfVariantRequest.Auto);
        var loads = Enum.GetValues<BpfVariant>().ToDictionary(v => v, BpfTracer.TryLoad);
        foreach (var load in loads.Values)
        {
            output.WriteLine($"{load.Variant}: loaded {load.Loaded}, {load.Programs} programs, {load.Took.TotalMilliseconds:0} ms {string.Join(" ", load.Error)}");
        }
        Assert.NotNull(choice.Variant);
        Assert.True(loads[choice.Variant!.Value].Loaded);
        Assert.Equal(loads[BpfVariant.Fast].Loaded, VariantChoice.Choose(features, BpfVariantRequest.Fast).Variant is not null);
        Assert.True(loads[BpfVariant.Fast].Programs > 10, "every program of the object loads, not only some");
    }

    [SkippableFact]
    public void NativeStructLayoutsMatchTheCHeader()
    {
        Requires.Program(output, "cc");
        // Compile bpf/tattle.h with the host compiler and print sizeof/offsetof of what C# mirrors.
        var dir = Directory.CreateTempSubdirectory("tattle-abi-").FullName;
        var header = Path.Combine(Repo.Root, "bpf", "tattle.h");
        File.WriteAllText(Path.Combine(dir, "abi.c"), $$"""
            #include <stdio.h>
            #include <stddef.h>
            #include "{{header}}"
            #define S(t) printf(#t " %zu\n", sizeof(struct t))
            #define O(t, f) printf(#t "." #f " %zu\n", offsetof(struct t, f))
            int main(void) {
                S(tattle_config); S(tattle_hdr); S(tattle_addr); S(tattle_proc_event); S(tattle_sock_event); S(tattle_data_event); S(tattle_call_event); S(tattle_exe_key); S(tattle_http_event); S(tattle_body_skip); S(tattle_spawn);
                O(tattle_proc_event, filename); O(tattle_proc_event, args); O(tattle_sock_event, sk); O(tattle_sock_event, local);
                O(tattle_sock_event, remote_path); O(tattle_data_event, pos); O(tattle_data_event, peer); O(tattle_data_event, sock_type); O(tattle_data_event, tls_session);
                O(tattle_data_event, skip_len); O(tattle_data_event, gen); O(tattle_body_skip, gen); O(tattle_body_skip, wake);
                O(tattle_call_event, args); O(tattle_call_event, ret); O(tattle_call_event, cap_len); O(tattle_call_event, flags);
                O(tattle_http_event, local); O(tattle_http_event, head); O(tattle_http_event, latency_us); O(tattle_http_event, status);
                return 0;
            }
            """);
        var cc = Process.Start(new ProcessStartInfo("cc", ["-o", Path.Combine(dir, "abi"), Path.Combine(dir, "abi.c")]) { RedirectStandardError = true })!;
        string ccErr = cc.StandardError.ReadToEnd();
        cc.WaitForExit();
        Assert.True(cc.ExitCode == 0, ccErr);
        var run = Process.Start(new ProcessStartInfo(Path.Combine(dir, "abi")) { RedirectStandardOutput = true })!;
        var c = run.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(l => l.Split(' ')[0], l => int.Parse(l.Split(' ')[1]));
        Directory.Delete(dir, true);

        Assert.Equal(c["tattle_config"], Unsafe.SizeOf<NativeConfig>());
        Assert.Equal(c["tattle_hdr"], Unsafe.SizeOf<NativeHeader>());
        Assert.Equal(c["tattle_exe_key"], Unsafe.SizeOf<NativeExeKey>());
        Assert.Equal(c["tattle_addr"], Unsafe.SizeOf<NativeAddr>());
        Assert.Equal(c["tattle_proc_event"], Unsafe.SizeOf<NativeProcEvent>());
        Assert.Equal(c["tattle_sock_event"], Unsafe.SizeOf<NativeSockEvent>());
        Assert.Equal(c["tattle_data_event"], Unsafe.SizeOf<NativeDataEvent>());
        Assert.Equal(c["tattle_http_event"], Unsafe.SizeOf<NativeHttpEvent>());
        Assert.Equal(c["tattle_http_event.local"], (int)Marshal.OffsetOf<NativeHttpEvent>(nameof(NativeHttpEvent.Local)));
        Assert.Equal(c["tattle_http_event.head"], (int)Marshal.OffsetOf<NativeHttpEvent>(nameof(NativeHttpEvent.Head)));
        Assert.Equal(c["tattle_http_event.latency_us"], (int)Marshal.OffsetOf<NativeHttpEvent>(nameof(NativeHttpEvent.LatencyUs)));
        Assert.Equal(c["tattle_http_event.status"], (int)Marshal.OffsetOf<NativeHttpEvent>(nameof(NativeHttpEvent.Status)));
        Assert.Equal(c["tattle_proc_event.filename"], (int)Marshal.OffsetOf<NativeProcEvent>(nameof(NativeProcEvent.Filename)));
        Assert.Equal(c["tattle_proc_event.args"], (int)Marshal.OffsetOf<NativeProcEvent>(nameof(NativeProcEvent.Args)));
        Assert.Equal(c["tattle_sock_event.sk"], (int)Marshal.OffsetOf<NativeSockEvent>(nameof(NativeSockEvent.Sk)));
        Assert.Equal(c["tattle_sock_event.local"], (int)Marshal.OffsetOf<NativeSockEvent>(nameof(NativeSockEvent.Local)));
        Assert.Equal(c["tattle_sock_event.remote_path"], (int)Marshal.OffsetOf<NativeSockEvent>(nameof(NativeSockEvent.RemotePath)));
        Assert.Equal(c["tattle_data_event.pos"], (int)Marshal.OffsetOf<NativeDataEvent>(nameof(NativeDataEvent.Pos)));
        Assert.Equal(c["tattle_data_event.peer"], (int)Marshal.OffsetOf<NativeDataEvent>(nameof(NativeDataEvent.Peer)));
        Assert.Equal(c["tattle_data_event.sock_type"], (int)Marshal.OffsetOf<NativeDataEvent>(nameof(NativeDataEvent.SockType)));
        Assert.Equal(c["tattle_data_event.tls_session"], (int)Marshal.OffsetOf<NativeDataEvent>(nameof(NativeDataEvent.TlsSession)));
        Assert.Equal(c["tattle_data_event.skip_len"], (int)Marshal.OffsetOf<NativeDataEvent>(nameof(NativeDataEvent.SkipLen)));
        Assert.Equal(c["tattle_data_event.gen"], (int)Marshal.OffsetOf<NativeDataEvent>(nameof(NativeDataEvent.Gen)));
        Assert.Equal(c["tattle_body_skip"], Unsafe.SizeOf<NativeBodySkip>());
        Assert.Equal(c["tattle_spawn"], Unsafe.SizeOf<NativeSpawn>());
        Assert.Equal(c["tattle_body_skip.gen"], (int)Marshal.OffsetOf<NativeBodySkip>(nameof(NativeBodySkip.Gen)));
        Assert.Equal(c["tattle_body_skip.wake"], (int)Marshal.OffsetOf<NativeBodySkip>(nameof(NativeBodySkip.Wake)));
        Assert.Equal(c["tattle_call_event"], Unsafe.SizeOf<NativeCallEvent>());
        Assert.Equal(c["tattle_call_event.args"], (int)Marshal.OffsetOf<NativeCallEvent>(nameof(NativeCallEvent.Args)));
        Assert.Equal(c["tattle_call_event.ret"], (int)Marshal.OffsetOf<NativeCallEvent>(nameof(NativeCallEvent.Ret)));
        Assert.Equal(c["tattle_call_event.cap_len"], (int)Marshal.OffsetOf<NativeCallEvent>(nameof(NativeCallEvent.CapLen)));
        Assert.Equal(c["tattle_call_event.flags"], (int)Marshal.OffsetOf<NativeCallEvent>(nameof(NativeCallEvent.Flags)));
    }

    [SkippableTheory]
    [InlineData(BpfVariantRequest.Fast)]
    [InlineData(BpfVariantRequest.Fallback)]
    public async Task RingBufferOverflow_EveryRecordIsDeliveredOrCountedAsDropped(BpfVariantRequest variant)
    {
        Requires.RootAndBpf(output);
        const int datagrams = 20_000;
        // A tiny ring and a consumer that does not read while the burst runs: most records must be dropped,
        // and each one either reaches us or is counted by the kernel. Nothing disappears silently.
        using var tracer = BpfTracer.Load(new TracerOptions { RingBufferBytes = 256 << 10, Snaplen = 64, Variant = variant });
        var counter = new CountingSink();
        using var reader = new RingBufferReader(tracer, new EventDecoder(counter));
        var script = $"""
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            payload = b"x" * 64
            for _ in range({datagrams}):
                s.sendto(payload, s.getsockname())
            """;
        using var launcher = GatedLauncher.Start([Py.Exe, "-c", script]);
        tracer.Trace(launcher.Pid);
        launcher.Release();
        await launcher.WaitForExitAsync(CancellationToken.None);
        reader.Drain();
        var stats = tracer.ReadStats();
        output.WriteLine($"data delivered {counter.SendRecords}, kernel emitted {stats.DataEmitted} dropped {stats.DataDropped}");
        Assert.Equal(datagrams, counter.SendRecords + (long)stats.DataDropped);
        Assert.Equal(stats.DataEmitted, (ulong)counter.DataRecords);
        Assert.True(stats.DataDropped > 0, "the burst should overflow a 256 KiB ring");
        Assert.Equal(stats.Emitted, reader.Delivered);
    }

    [SkippableFact]
    public async Task RingBuffer_ReadWhileWritten_RecordsWrapTheRingIntactAndInOrder()
    {
        Requires.RootAndBpf(output);
        const int datagrams = 20_000;
        // A small ring drained while the sender runs: records of varying sizes wrap its end many times, and the
        // reader frees space while the kernel writes. Each datagram names its number and is filled with a byte of
        // it, so a record read across the wrap, or after its space was reused, shows.
        const int ringBytes = 256 << 10;
        using var tracer = BpfTracer.Load(new TracerOptions { RingBufferBytes = ringBytes, Snaplen = 512 });
        var sink = new CheckingSink();
        using var reader = new RingBufferReader(tracer, new EventDecoder(sink));
        var script = $"""
            import socket, struct, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            for i in range({datagrams}):
                s.sendto(struct.pack("<I", i) + bytes([i % 251]) * (i * 7 % 300), s.getsockname())
                if i % 500 == 0:
                    time.sleep(0.001)
            """;
        using var launcher = GatedLauncher.Start([Py.Exe, "-c", script]);
        tracer.Trace(launcher.Pid);
        launcher.Release();
        var exited = launcher.WaitForExitAsync(CancellationToken.None);
        while (!exited.IsCompleted)
        {
            reader.Poll(1);
        }
        await exited;
        reader.Drain();
        var stats = tracer.ReadStats();
        output.WriteLine($"delivered {sink.Sends} ({sink.Bytes} bytes), dropped {stats.DataDropped}, damaged {sink.Damaged}, out of order {sink.OutOfOrder}");
        Assert.Equal(0, sink.Damaged);
        Assert.Equal(0, sink.OutOfOrder);
        Assert.Equal(datagrams, sink.Sends + (long)stats.DataDropped);
        Assert.True(sink.Bytes > 4L * ringBytes, $"the records should wrap the ring several times ({sink.Bytes} bytes)");
        Assert.Equal(stats.Emitted, reader.Delivered);
    }

    [SkippableTheory]
    [InlineData(BpfVariantRequest.Fast)]
    [InlineData(BpfVariantRequest.Fallback)]
    public async Task IdleReader_IsWokenByTheNextRecord_NotByItsPoll(BpfVariantRequest variant)
    {
        Requires.RootAndBpf(output);
        // One datagram is far below the bytes that wake the reader under load: only the idle request can make the
        // kernel wake it, rather than the reader finding the record when its sleep ends.
        using var tracer = BpfTracer.Load(new TracerOptions { Variant = variant });
        var counter = new CountingSink();
        using var reader = new RingBufferReader(tracer, new EventDecoder(counter));
        for (int i = 0; i < 20 && !reader.Idle; i++)
        {
            reader.Next();
        }
        Assert.True(reader.Idle, "a reader that finds nothing should go idle");
        ulong wakeupsBefore = reader.RecordWakeups;
        Assert.Equal(0, reader.Next()); // asleep up to IdlePollMs with nothing to wake it: the poll's own end
        Assert.Equal(wakeupsBefore, reader.RecordWakeups);

        var script = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.sendto(b"x" * 64, s.getsockname())
            """;
        using var launcher = GatedLauncher.Start([Py.Exe, "-c", script]);
        tracer.Trace(launcher.Pid);
        launcher.Release();
        var deadline = Stopwatch.StartNew();
        int read = 0;
        while (read == 0 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            read = reader.Next();
        }
        await launcher.WaitForExitAsync(CancellationToken.None);
        output.WriteLine($"first records {read}, kernel wake-ups {reader.RecordWakeups - wakeupsBefore}, idle after {reader.Idle}");
        Assert.True(read > 0, "the traced process's records should reach the reader");
        Assert.Equal(wakeupsBefore + 1, reader.RecordWakeups);
        Assert.False(reader.Idle);
        reader.Drain();
        Assert.Equal(1, counter.SendRecords);
    }

    [SkippableFact]
    public async Task SpawnWatcher_SleepsUntilASpawnOrItsEnd_WithNoTimedWakeUps()
    {
        Requires.RootAndBpf(output);
        using var tracer = BpfTracer.Load(new TracerOptions { Spawns = true });
        var spawns = new System.Collections.Concurrent.ConcurrentQueue<SpawnEvent>();
        var watcher = new SpawnWatcher(tracer, spawns.Enqueue);
        int tid;
        try
        {
            var started = Stopwatch.StartNew();
            while ((tid = watcher.ThreadId) == 0 && started.Elapsed < TimeSpan.FromSeconds(5))
            {
                Thread.Sleep(10);
            }
            Assert.NotEqual(0, tid);
            // Counted from its first wait on: its start (the thread's creation, the priority) may block on the way
            // there, and on a loaded machine that can take longer than any fixed pause.
            var waiting = Stopwatch.StartNew();
            string call;
            while (!InPoll(call = CurrentCall(tid)) && waiting.Elapsed < TimeSpan.FromSeconds(5))
            {
                Thread.Sleep(10);
            }
            Assert.True(InPoll(call), $"the watcher's thread never waited in poll(2): {call}");
            long before = VoluntarySwitches(tid);
            Thread.Sleep(600);
            long idle = VoluntarySwitches(tid) - before;

            using var launcher = GatedLauncher.Start([Py.Exe, "-c", "import os\npid = os.fork()\nos._exit(0) if pid == 0 else os.waitpid(pid, 0)"]);
            tracer.Trace(launcher.Pid);
            launcher.Release();
            await launcher.WaitForExitAsync(CancellationToken.None);
            var deadline = Stopwatch.StartNew();
            while (!spawns.Any(s => !s.Exec && s.ParentPid == launcher.Pid) && deadline.Elapsed < TimeSpan.FromSeconds(5))
            {
                Thread.Sleep(10);
            }
            output.WriteLine($"wake-ups in 600 ms idle: {idle}; spawns read: {string.Join(", ", spawns)}");
            // A timed poll would wake it six times here (every 100 ms); only a stray signal may wake it, once or twice.
            Assert.True(idle <= 2, $"the idle watcher woke {idle} times in 600 ms");
            Assert.Contains(spawns, s => !s.Exec && s.ParentPid == launcher.Pid);
        }
        finally
        {
            watcher.Dispose();
        }
        // Dispose ends the wait at once: the thread is gone well inside Dispose's own one-second wait.
        var gone = Stopwatch.StartNew();
        while (Directory.Exists($"/proc/self/task/{tid}") && gone.Elapsed < TimeSpan.FromSeconds(5))
        {
            Thread.Sleep(10);
        }
        Assert.False(Directory.Exists($"/proc/self/task/{tid}"), "the watcher's thread should end with Dispose");
    }

    /// <summary>The thread's current call as the kernel records it: its number and arguments, or "running".</summary>
    private static string CurrentCall(int tid) => File.ReadAllText($"/proc/self/task/{tid}/syscall").Trim();

    /// <summary>Whether a call read by <see cref="CurrentCall"/> is poll(2) or ppoll(2) (x86-64's calls 7 and 271).</summary>
    private static bool InPoll(string call) => call.Split(' ')[0] is "7" or "271";

    private static long VoluntarySwitches(int tid)
    {
        foreach (var line in File.ReadLines($"/proc/self/task/{tid}/status"))
        {
            if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan("voluntary_ctxt_switches:".Length).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"no voluntary_ctxt_switches for thread {tid}");
    }

    /// <summary>Checks each datagram a sender made by the recipe of the test above.</summary>
    private sealed class CheckingSink : ITraceEventSink
    {
        public long Sends;
        public long Bytes;
        public long Damaged;
        public long OutOfOrder;
        private long _last = -1;

        public void OnFork(in ProcessFork e)
        {
        }

        public void OnExec(in ProcessExec e)
        {
        }

        public void OnExit(in ProcessExit e)
        {
        }

        public void OnSocket(in SocketEvent e)
        {
        }

        public void OnData(in DataEvent e, ReadOnlySpan<byte> payload)
        {
            if (e.Direction != Direction.Send)
            {
                return;
            }
            Sends++;
            Bytes += payload.Length;
            if (payload.Length < 4 || payload.Length != e.MessageLength)
            {
                Damaged++;
                return;
            }
            int i = BitConverter.ToInt32(payload);
            if (payload.Length != 4 + i * 7 % 300 || payload[4..].ContainsAnyExcept((byte)(i % 251)))
            {
                Damaged++;
            }
            if (i <= _last)
            {
                OutOfOrder++;
            }
            _last = i;
        }

        public void OnLoss(in LossEvent e)
        {
        }
    }

    private sealed class CountingSink : ITraceEventSink
    {
        public long DataRecords;
        public long SendRecords;

        public void OnFork(in ProcessFork e)
        {
        }

        public void OnExec(in ProcessExec e)
        {
        }

        public void OnExit(in ProcessExit e)
        {
        }

        public void OnSocket(in SocketEvent e)
        {
        }

        public void OnData(in DataEvent e, ReadOnlySpan<byte> payload)
        {
            DataRecords++;
            if (e.Direction == Direction.Send && e.MessageLength == 64)
            {
                SendRecords++;
            }
        }

        public void OnLoss(in LossEvent e)
        {
        }
    }
}
