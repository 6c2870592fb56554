using System.Diagnostics;
using Tattle.Agent;
using Tattle.Capture.Bpf;
using Tattle.Capture.Proc;
using Tattle.Records;

namespace Tattle.Tests.Agent;

public sealed class TargetSelectionTests
{
    private static ProcessFacts P(string comm, string? exe = null, int? uid = 1000, string? cgroup = "/user.slice") => new(comm, exe, uid, cgroup);

    [Fact]
    public void EveryFieldGivenMustMatch_AndTheFirstTargetWins()
    {
        var selector = new TargetSelector([
            new AgentTarget { Comm = "nginx", Uid = 33, Depth = AgentDepth.Tls },
            new AgentTarget { Cgroup = "/system.slice/nginx.service", Depth = AgentDepth.Connections },
            new AgentTarget { Container = "0123456789ab" },
        ]);
        Assert.Equal(AgentDepth.Tls, selector.Match(P("nginx", uid: 33))?.Depth);
        Assert.Null(selector.Match(P("nginx", uid: 0)));
        Assert.Equal(AgentDepth.Connections, selector.Match(P("nginx", uid: 0, cgroup: "/system.slice/nginx.service"))?.Depth);
        Assert.Equal(AgentDepth.Connections, selector.Match(P("worker", cgroup: "/system.slice/nginx.service/sub"))?.Depth);
        Assert.Null(selector.Match(P("x", cgroup: "/system.slice/nginx.service2")));
        Assert.Equal(AgentDepth.Protocols, selector.Match(P("app", cgroup: "/system.slice/docker-0123456789abcdef0123.scope"))?.Depth);
        Assert.Null(selector.Match(P("app", cgroup: null)));
    }

    [Fact]
    public void AnExecutableMatchesByItsPath_AndTheKernelByItsInode()
    {
        var selector = new TargetSelector([new AgentTarget { Exe = "/usr/bin/curl" }]);
        Assert.NotNull(selector.Match(P("renamed", exe: "/usr/bin/curl")));
        Assert.Null(selector.Match(P("curl", exe: "/usr/local/bin/curl")));
        var matches = selector.ExecMatches();
        var key = Assert.Single(matches.Exes).Key;
        Assert.Equal(ExeKey.Of("/usr/bin/curl"), key);
        var st = new FileInfo("/usr/bin/curl");
        Assert.True(st.Exists);
        Assert.Empty(matches.Comms);
        Assert.Null(matches.All);
    }

    [Fact]
    public void AnExecutableNamedThroughALink_MatchesTheFileItNames()
    {
        var dir = Directory.CreateTempSubdirectory("tattle-exe-links-").FullName;
        try
        {
            string real = Path.Combine(dir, "python3.11");
            File.WriteAllText(real, "");
            string symlink = Path.Combine(dir, "python3");
            File.CreateSymbolicLink(symlink, real);
            string hardlink = Path.Combine(dir, "python-hard");
            using (var ln = Process.Start("ln", [real, hardlink]))
            {
                ln.WaitForExit();
                Assert.Equal(0, ln.ExitCode);
            }
            string other = Path.Combine(dir, "other");
            File.WriteAllText(other, "");
            foreach (string target in (string[])[symlink, hardlink])
            {
                var selector = new TargetSelector([new AgentTarget { Exe = target }]);
                // What /proc/PID/exe shows: the file's own path, and the file itself.
                Assert.NotNull(selector.Match(new ProcessFacts("python3", real, 0, "/", ExeKey.Of(real))));
                Assert.Null(selector.Match(new ProcessFacts("python3", other, 0, "/", ExeKey.Of(other))));
                Assert.Equal(ExeKey.Of(real), Assert.Single(selector.ExecMatches().Exes).Key);
                Assert.Empty(selector.MissingExes);
            }
            string missing = Path.Combine(dir, "missing");
            Assert.Equal([missing], new TargetSelector([new AgentTarget { Exe = missing }, new AgentTarget { Exe = real }]).MissingExes);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void KernelMatchesTakeEachTargetsMostSelectiveField_AndTheDeeperDepthOnAShare()
    {
        var root = Directory.CreateTempSubdirectory("tattle-cgroups-").FullName;
        Directory.CreateDirectory(Path.Combine(root, "system.slice", "web.service", "child"));
        Directory.CreateDirectory(Path.Combine(root, "system.slice", "docker-0123456789abcdef.scope"));
        var selector = new TargetSelector([
            new AgentTarget { Comm = "nginx", Uid = 33, Depth = AgentDepth.Connections },
            new AgentTarget { Comm = "nginx", Depth = AgentDepth.Protocols },
            new AgentTarget { Uid = 1000, Depth = AgentDepth.Connections },
            new AgentTarget { Cgroup = "/system.slice/web.service" },
            new AgentTarget { Container = "0123456789abcdef" },
            new AgentTarget { All = true, Depth = AgentDepth.Connections },
        ], root);
        var m = selector.ExecMatches();
        Assert.Equal(TraceDepth.Payload, m.Comms["nginx"]);
        Assert.Equal(TraceDepth.ConnectionsOnly, m.Uids[1000]);
        Assert.Equal(3, m.Cgroups.Count); // web.service, its child, the container's scope
        Assert.Equal(TraceDepth.ConnectionsOnly, m.All);
        Directory.Delete(root, true);
    }

    [Fact]
    public void ProcessesTheKernelAddedAreKept_Inherited_OrUntraced()
    {
        var kernel = new FakeKernel();
        var selection = new ProcessSelection(new TargetSelector([new AgentTarget { Comm = "nginx", Depth = AgentDepth.Tls }]), kernel, "/nonexistent");
        Assert.True(selection.OnStart(Start(100, 1, "nginx")));
        Assert.Equal(AgentDepth.Tls, selection.DepthOf(100));
        // A worker forked by a traced parent follows it, whatever its name.
        Assert.True(selection.OnStart(Start(101, 100, "worker")));
        Assert.Equal(AgentDepth.Tls, selection.DepthOf(101));
        // The kernel's over-approximation (a uid, a name shared by another program) is undone.
        Assert.False(selection.OnStart(Start(200, 1, "bash")));
        Assert.Contains(200, kernel.Untraced);
        Assert.Null(selection.DepthOf(200));
        // An exec keeps what the process had when no target matches the new program.
        Assert.True(selection.OnExec(new ProcessExecRecord { TimestampNs = 0, Pid = 101, Comm = "sh", Argv = ["sh"] }));
        Assert.Equal(AgentDepth.Tls, selection.DepthOf(101));
        selection.OnExit(100);
        selection.OnExit(101);
        Assert.Equal(0, selection.Count);
        Assert.Equal(TraceDepth.Payload, kernel.Traced[100]);
    }

    [Fact]
    public void ASpawnsDepthIsForeseen_AsTheRecordWillDecideIt()
    {
        string root = Directory.CreateTempSubdirectory("tattle-proc-").FullName;
        void Stat(int pid, string comm, int parent, char state = 'R')
        {
            Directory.CreateDirectory(Path.Combine(root, $"{pid}"));
            File.WriteAllText(Path.Combine(root, $"{pid}", "stat"), $"{pid} ({comm}) {state} {parent} 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0\n");
        }
        var kernel = new FakeKernel();
        var selection = new ProcessSelection(new TargetSelector(
            [new AgentTarget { Comm = "curl", Depth = AgentDepth.Tls }, new AgentTarget { Comm = "nginx", Depth = AgentDepth.Connections }]), kernel, root);
        Assert.True(selection.OnStart(Start(100, 1, "nginx")));

        // A fork takes its parent's depth; the fork of an untraced parent is not traced.
        Assert.Equal(AgentDepth.Connections, selection.ForeseeDepth(101, 100, exec: false));
        Assert.Null(selection.ForeseeDepth(301, 300, exec: false));
        // An exec goes by the first target its new program matches: curl exec'd by an untraced shell, or by nginx.
        Stat(400, "curl", 1);
        Assert.Equal(AgentDepth.Tls, selection.ForeseeDepth(400, 0, exec: true));
        Stat(102, "curl", 100);
        Assert.Equal(AgentDepth.Tls, selection.ForeseeDepth(102, 0, exec: true));
        // A program no target names keeps its parent's depth, or is not traced; a process gone foresees nothing.
        Stat(103, "sh", 100);
        Assert.Equal(AgentDepth.Connections, selection.ForeseeDepth(103, 0, exec: true));
        Stat(401, "bash", 1);
        Assert.Null(selection.ForeseeDepth(401, 0, exec: true));
        Stat(402, "curl", 1, state: 'Z');
        Assert.Null(selection.ForeseeDepth(402, 0, exec: true));
        Assert.Null(selection.ForeseeDepth(403, 0, exec: true));
        // What the record then decides agrees.
        Assert.True(selection.OnStart(Start(400, 1, "curl")));
        Assert.Equal(AgentDepth.Tls, selection.DepthOf(400));
        Assert.Equal(AgentDepth.Tls, selection.ForeseeDepth(400, 0, exec: false));
        Directory.Delete(root, true);
    }

    [Fact]
    public void TheSeriesCapFoldsNewSetsIntoOneOtherSeries()
    {
        var cap = new SeriesLimiter(3);
        var admitted = new HashSet<string>();
        for (int port = 0; port < 100; port++)
        {
            var tags = new TagList { { "server.port", port }, { "process.executable.name", "curl" } };
            bool kept = cap.Admit(ref tags);
            Assert.Equal(port < 3, kept);
            admitted.Add(string.Join(',', tags.Select(t => $"{t.Key}={t.Value}")));
        }
        // The same set again is not new.
        var again = new TagList { { "server.port", 1 }, { "process.executable.name", "curl" } };
        Assert.True(cap.Admit(ref again));
        Assert.Equal(4, admitted.Count);
        Assert.Contains("server.port=other,process.executable.name=other", admitted);
        Assert.Equal(97, cap.Folded);
        Assert.Equal(3, cap.Series);
    }

    [Fact]
    public void TheSeriesCapHolds_ForSetsSeenAgainByIdentity_AndForLongSetsThatShareTheirStorage()
    {
        var cap = new SeriesLimiter(2);
        string comm = "nginx", method = "GET";
        TagList Exchange(int status) => new() { { "process.executable.name", comm }, { "http.request.method", method }, { "http.response.status_code", Boxes.Long(status) } };
        for (int i = 0; i < 50; i++)
        {
            var ok = Exchange(200);
            Assert.True(cap.Admit(ref ok));
            // The same values in new boxes and new strings are the same set.
            var copy = new TagList { { "process.executable.name", new string(comm) }, { "http.request.method", new string(method) }, { "http.response.status_code", (long)200 } };
            Assert.True(cap.Admit(ref copy));
        }
        var notFound = Exchange(404);
        Assert.True(cap.Admit(ref notFound));
        var third = Exchange(500);
        Assert.False(cap.Admit(ref third));
        Assert.Equal(SeriesLimiter.Other, third[2].Value);
        var again = Exchange(200);
        Assert.True(cap.Admit(ref again));

        // Over eight tags a TagList keeps them in an array its copies share: a copy's Add writes where another copy's
        // last tag is. The set that was never admitted must still fold.
        var longCap = new SeriesLimiter(1);
        var common = new TagList();
        for (int i = 0; i < 9; i++)
        {
            common.Add($"k{i}", "v");
        }
        var transmit = common;
        transmit.Add("network.io.direction", "transmit");
        Assert.True(longCap.Admit(ref transmit));
        var receive = common;
        receive.Add("network.io.direction", "receive");
        Assert.False(longCap.Admit(ref receive));
        Assert.Equal(1, longCap.Series);
        Assert.Equal(2, cap.Series);
        Assert.Equal(1, cap.Folded);
    }

    [Fact]
    public void PortsAndStatusCodesAreBoxedOnce_OtherNumbersAsTheyCome()
    {
        Assert.Same(Boxes.Int(8080), Boxes.Int(8080));
        Assert.Same(Boxes.Long(200), Boxes.Long(200));
        Assert.Equal(200L, Boxes.Long(200));
        Assert.Equal(8080, Boxes.Int(8080));
        Assert.Equal(70000, Boxes.Int(70000));
        Assert.Equal(-1L, Boxes.Long(-1));
        Assert.Equal(long.MaxValue, Boxes.Long(long.MaxValue));
    }

    [Fact]
    public void ContainerIdsComeFromTheRuntimesCgroupNames()
    {
        const string id = "3f2a9c0d1e2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5";
        Assert.Equal(id, ProcessResources.ContainerOf($"/system.slice/docker-{id}.scope"));
        Assert.Equal(id, ProcessResources.ContainerOf($"/kubepods/besteffort/pod1234/{id}"));
        Assert.Equal(id, ProcessResources.ContainerOf($"/system.slice/cri-containerd-{id}.scope/sub"));
        Assert.Null(ProcessResources.ContainerOf("/user.slice/user-1000.slice/session-2.scope"));
        Assert.Null(ProcessResources.ContainerOf(null));
    }

    private static ProcessStartRecord Start(int pid, int parent, string comm) =>
        new() { TimestampNs = 0, Pid = pid, ParentPid = parent, Comm = comm, Argv = [comm] };
}
