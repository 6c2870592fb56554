using System.Diagnostics;
using System.Text;

namespace Tattle.Tests.Support;

/// <summary>The real tcpdump capturing on lo into a file while a test runs: the packet-count oracle.</summary>
public sealed class TcpdumpProcess : IDisposable
{
    private readonly StringBuilder _stderr = new();

    private TcpdumpProcess(Process process, string file)
    {
        Process = process;
        File = file;
    }

    public Process Process { get; }

    public string File { get; }

    /// <summary>What tcpdump printed on stderr, its closing statistics included once it has exited.</summary>
    public string Messages
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>
    /// Starts `tcpdump -i lo` writing every packet at once, and waits until it listens. -B: immediate mode means
    /// TPACKET_V2 with MTU-sized (64 KiB on lo) slots; the default 2 MiB holds ~31 and every lo packet takes two
    /// (the outgoing copy is discarded only after it is read), so a 300 KB exchange overflowed it.
    /// </summary>
    public static TcpdumpProcess Start(string filter, string file, ITestOutputHelper output)
    {
        var psi = new ProcessStartInfo("tcpdump", ["-i", "lo", "-nn", "-U", "--immediate-mode", "-B", "65536", "-w", file, filter])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        var tcpdump = new TcpdumpProcess(Process.Start(psi)!, file);
        var listening = new TaskCompletionSource();
        tcpdump.Process.ErrorDataReceived += (_, e) =>
        {
            lock (tcpdump._stderr)
            {
                tcpdump._stderr.AppendLine(e.Data);
            }
            if (e.Data?.Contains("listening on") == true)
            {
                listening.TrySetResult();
            }
        };
        tcpdump.Process.BeginErrorReadLine();
        if (!listening.Task.Wait(10_000))
        {
            tcpdump.Dispose();
            Assert.Fail($"tcpdump did not start listening: {tcpdump.Messages}");
        }
        output.WriteLine($"tcpdump {filter}: listening");
        return tcpdump;
    }

    /// <summary>Waits until tcpdump has written all it will (its count holds still), stops it, and returns the count.</summary>
    public int StopAndCount()
    {
        // tcpdump drops what it has not read when SIGINT arrives: wait for its file to stop growing first.
        var clock = Stopwatch.StartNew();
        int last = -2, stable = 0;
        while (stable < 2 && clock.ElapsedMilliseconds < 10_000)
        {
            Thread.Sleep(150);
            int now = CountPackets(File, strict: false);
            stable = now == last && now >= 0 ? stable + 1 : 0;
            last = now;
        }
        Tattle.Interop.Libc.Kill(Process.Id, 2);
        Assert.True(Process.WaitForExit(10_000), "tcpdump did not exit on SIGINT");
        Process.WaitForExit(); // and its stderr is read to the end
        Assert.Contains("\n0 packets dropped by kernel", Messages);
        return CountPackets(File);
    }

    /// <summary>
    /// `tcpdump -r FILE | wc -l`: one line per packet. Not strict while tcpdump may still be writing: a record
    /// read half-written makes it fail, which then means "not there yet" (-1).
    /// </summary>
    public static int CountPackets(string file, bool strict = true)
    {
        var psi = new ProcessStartInfo("tcpdump", ["-r", file, "-nn"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var read = Process.Start(psi)!;
        var stderr = read.StandardError.ReadToEndAsync();
        int lines = read.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        read.WaitForExit();
        if (!strict && read.ExitCode != 0)
        {
            return -1;
        }
        Assert.True(read.ExitCode == 0, stderr.Result);
        return lines;
    }

    /// <summary>
    /// TCP payload bytes sent from and received at <paramref name="localPort"/>, by TCP's own accounting: where the
    /// highest data segment each way ends, less the SYN's sequence number. Summing segment lengths would count a
    /// retransmission twice (a busy loopback does drop); control segments (FIN, RST) carry no data.
    /// </summary>
    public static (long Sent, long Received) PayloadBytes(string path, int localPort)
    {
        var r = Programs.Run("tshark", "-r", path, "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.len", "-e", "tcp.seq_raw", "-e", "tcp.flags.syn");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var isn = new Dictionary<bool, uint>();
        var end = new Dictionary<bool, uint>();
        foreach (var line in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            bool fromLocal = int.Parse(f[0]) == localPort;
            uint seq = uint.Parse(f[2]);
            uint len = uint.Parse(f[1]);
            if (f[3] is "1" or "True")
            {
                isn[fromLocal] = seq;
            }
            else if (len > 0 && (!end.TryGetValue(fromLocal, out uint last) || (int)(seq + len - last) > 0))
            {
                end[fromLocal] = seq + len;
            }
        }
        long Bytes(bool fromLocal) => end.TryGetValue(fromLocal, out uint e) ? e - isn[fromLocal] - 1 : 0;
        return (Bytes(true), Bytes(false));
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill();
            Process.WaitForExit(5000);
        }
        Process.Dispose();
    }
}
