using Tattle.Cli.Commands;
using Tattle.Cli.Tracing;
using Tattle.Records;
using Tattle.Tests.Support;

namespace Tattle.Tests.Report;

/// <summary>Captures go through `tattle read`'s path into the same inventory; process records get their user and cgroup.</summary>
public sealed class ReportInputsTests
{
    [Fact]
    public void Capture_IsReadLikeATrace()
    {
        // testdata/pcap/http.pcapng: curl fetching /hello.txt from python3's http.server on 127.0.0.1:28931 (tshark -w).
        string pcap = Path.Combine(AppContext.BaseDirectory, "testdata", "pcap", "http.pcapng");
        var inv = ReportInputs.Load([pcap], TextWriter.Null);
        var client = Assert.Single(inv.Endpoints, e => e.Role == "client" && e.Port == 28931);
        Assert.Equal(("tcp", "127.0.0.1", 1L, 1L), (client.Proto, client.Addr, client.Connections, client.Requests));
        Assert.Equal(["http"], client.Apps);
        Assert.Equal("GET /hello.txt", Assert.Single(client.Http.Keys));
        Assert.Equal([pcap], inv.Sources);
    }

    [Fact]
    public void Identity_FromProc_ThenTheLaunchedUser_ThenTheParent_ThenWhatWasKnown()
    {
        string proc = Directory.CreateTempSubdirectory("tattle-proc-").FullName;
        try
        {
            void Process(int pid, int uid, string cgroup)
            {
                Directory.CreateDirectory(Path.Combine(proc, $"{pid}"));
                File.WriteAllText(Path.Combine(proc, $"{pid}", "status"), $"Name:\tx\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t0\t0\t0\t0\n");
                File.WriteAllText(Path.Combine(proc, $"{pid}", "cgroup"), $"4:memory:/x\n0::{cgroup}\n");
            }
            Process(100, 1000, "/system.slice/docker-abc.scope");
            Process(300, 0, "/");
            var list = new ListSink();
            var sink = new ProcessIdentitySink(list, proc);
            ProcessStartRecord Start(int pid, int parent) => new() { TimestampNs = 1, Pid = pid, Comm = "x", ParentPid = parent, Argv = [] };
            sink.Write(Start(100, 1));
            sink.Write(Start(101, 100)); // gone already: its running parent's
            sink.Write(new ProcessExecRecord { TimestampNs = 2, Pid = 101, Comm = "y", Argv = [] });
            sink.Write(new ProcessExitRecord { TimestampNs = 3, Pid = 100, Comm = "x" });
            Directory.Delete(Path.Combine(proc, "100"), recursive: true);
            sink.Write(Start(102, 101)); // parent gone too: what was known of it
            sink.Write(Start(200, 999)); // nothing known: no fields
            // A command launched as another user by its parent (300, root) and gone: the user it was launched as,
            // and so its child's.
            sink.Launched = (301, 65534);
            sink.Write(Start(301, 300));
            sink.Write(Start(302, 301));
            var starts = list.Of<ProcessStartRecord>().Select(p => (p.Pid, p.Uid, p.Cgroup)).ToList();
            List<(int, int?, string?)> expected = [(100, 1000, "/system.slice/docker-abc.scope"), (101, 1000, "/system.slice/docker-abc.scope"),
                (102, 1000, "/system.slice/docker-abc.scope"), (200, null, null), (301, 65534, "/"), (302, 65534, "/")];
            Assert.Equal(expected, starts);
            Assert.Equal(((int?)1000, "/system.slice/docker-abc.scope"), list.Of<ProcessExecRecord>().Select(x => (x.Uid, x.Cgroup)).Single());
        }
        finally
        {
            Directory.Delete(proc, recursive: true);
        }
    }
}
