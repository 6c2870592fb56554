using System.Diagnostics;
using Tattle.Capture.Packets;
using Tattle.Output.Pcapng;

// The pcapng writer's own speed, to a real file: packets/s and MB/s for small and full-size packets, each with
// Tattle's per-packet comment, flushed every 64 packets as the capture thread flushes per batch. The baseline in
// the same run is a plain FileStream write of the same bytes without any block framing.
const int Packets = 1_000_000;
string dir = Directory.CreateTempSubdirectory("tattle-bench-pcapng-").FullName;
const string Comment = "pid=12345 comm=nginx conn=c42 dir=out cmdline=\"nginx: worker process\"";
try
{
    foreach (int size in new[] { 90, 1514 })
    {
        var frame = new byte[size];
        Random.Shared.NextBytes(frame);
        for (int round = 0; round < 3; round++)
        {
            string path = Path.Combine(dir, $"w{size}.pcapng");
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            using (var writer = PcapngWriter.Create(path))
            {
                int id = writer.AddInterface("any", LinkTypes.LinuxSll2, 262144);
                long t = 1_700_000_000_000_000_000;
                for (int i = 0; i < Packets; i++)
                {
                    writer.WritePacket(id, t + i, frame, size, Comment);
                    if ((i & 63) == 63)
                    {
                        writer.Flush();
                    }
                }
            }
            sw.Stop();
            long bytes = new FileInfo(path).Length;
            long perPacketAlloc = (GC.GetAllocatedBytesForCurrentThread() - allocated) / Packets;

            string raw = Path.Combine(dir, $"raw{size}.bin");
            var sw2 = Stopwatch.StartNew();
            using (var fs = new FileStream(raw, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16))
            {
                var block = new byte[bytes / Packets];
                for (int i = 0; i < Packets; i++)
                {
                    fs.Write(block);
                    if ((i & 63) == 63)
                    {
                        fs.Flush();
                    }
                }
            }
            sw2.Stop();
            Console.WriteLine(FormattableString.Invariant(
                $"{size,5} B frames: {Packets / sw.Elapsed.TotalSeconds / 1e6:F2} M packets/s, {bytes / sw.Elapsed.TotalSeconds / 1e6:F0} MB/s ({perPacketAlloc} B allocated/packet); plain FileStream of the same bytes: {bytes / sw2.Elapsed.TotalSeconds / 1e6:F0} MB/s, ratio {sw2.Elapsed.TotalSeconds / sw.Elapsed.TotalSeconds:F2}"));
            File.Delete(path);
            File.Delete(raw);
        }
    }
}
finally
{
    Directory.Delete(dir, recursive: true);
}
