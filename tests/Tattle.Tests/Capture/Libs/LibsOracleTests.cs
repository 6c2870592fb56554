using System.Diagnostics;
using Tattle.Capture.Elf;
using Tattle.Capture.Libs;
using Tattle.Capture.Proc;
using Tattle.Tests.Capture.Elf;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Libs;

/// <summary>`tattle libs` against binutils and /proc on real objects and real processes.</summary>
public class LibsOracleTests(ITestOutputHelper output)
{
    private const string Libssl = "/usr/lib/x86_64-linux-gnu/libssl.so.3";

    [SkippableFact]
    public void LibsslExports_AreNmsDefinedFunctions_WithTheirVersionsAndAddresses()
    {
        Requires.FileFrom(output, Libssl, "libssl3");
        Requires.Program(output, "nm");
        var lib = LibraryListing.ForFile(Libssl, new SymbolGlob("SSL_*"));
        Assert.Equal(ElfStatus.Ok, lib.Status);
        var ours = lib.Symbols.Select(s => $"{s.VersionedName} {s.Address:x}").Order(StringComparer.Ordinal).ToList();
        // T: text, i: indirect function, W: weak code; nm -D --defined-only prints the same rows.
        var nm = DynamicSymbolOracle.Nm(Libssl).Where(r => r.Defined && r.Symbol.StartsWith("SSL_", StringComparison.Ordinal) && r.Type is "T" or "i" or "W")
            .Select(r => $"{r.Symbol} {r.Value:x}").Order(StringComparer.Ordinal).ToList();
        Assert.True(nm.Count > 100, $"nm found only {nm.Count} SSL_ functions");
        Assert.Contains(ours, s => s.StartsWith("SSL_read@@OPENSSL_3.0.0 ", StringComparison.Ordinal));
        Assert.Equal(nm, ours);
        Assert.All(lib.Symbols, s => Assert.True(s.Defined));
    }

    [SkippableFact]
    public void LibsslObjectRow_HasReadelfsBuildId_AndBothVersions()
    {
        Requires.FileFrom(output, Libssl, "libssl3");
        Requires.Program(output, "readelf");
        var lib = LibraryListing.ForFile(Libssl, null);
        Assert.Equal(ReadElfOracle.Of(Libssl).BuildId, lib.BuildId);
        Assert.Equal("libssl.so.3", lib.Soname);
        Assert.Equal("3", lib.Version);
        Assert.Equal("OPENSSL_3.0.0", lib.VersionDefinition);
        Assert.Empty(lib.Symbols);
    }

    [SkippableTheory]
    [InlineData("/usr/bin/curl", "curl_*", "curl")]
    [InlineData("/usr/bin/curl", "*", "curl")]
    [InlineData(Libssl, "*", "libssl3")]
    public void Imports_AreNmsUndefinedFunctions(string path, string glob, string package)
    {
        Requires.FileFrom(output, path, package);
        Requires.Program(output, "nm");
        var lib = LibraryListing.ForFile(path, new SymbolGlob(glob));
        var ours = lib.Symbols.Where(s => !s.Defined).Select(s => s.VersionedName).Order(StringComparer.Ordinal).ToList();
        // readelf gives the types nm leaves out for undefined symbols; nm gives the spelling.
        var functions = DynamicSymbolOracle.ReadElf(path).Where(r => !r.Defined && r.Type == "FUNC").Select(r => r.Symbol).ToHashSet();
        var nm = DynamicSymbolOracle.Nm(path).Where(r => !r.Defined && functions.Contains(r.Symbol) && new SymbolGlob(glob).IsMatch(r.Symbol.Split('@')[0]))
            .Select(r => r.Symbol).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(nm);
        Assert.Equal(nm, ours);
    }

    [SkippableFact]
    public void RunningChild_ObjectsAreItsExecutableMappings_WithReadelfBuildIds()
    {
        Requires.FileFrom(output, "/usr/bin/python3", "python3");
        Requires.Program(output, "readelf");
        using var python = StartPython("import sys; print('ready', flush=True); sys.stdin.read()");
        AssertObjectsMatchMaps(python.Id);
    }

    [SkippableFact]
    public void PythonWithZmq_ListsLibzmqWithItsSonameVersion()
    {
        Requires.FileFrom(output, "/usr/bin/python3", "python3");
        Requires.That(output, Directory.Exists("/usr/lib/python3/dist-packages/zmq"), "/usr/lib/python3/dist-packages/zmq (apt-get install python3-zmq)");
        Requires.Program(output, "readelf");
        using var python = StartPython("import zmq, sys; print('ready', flush=True); sys.stdin.read()");
        var objects = AssertObjectsMatchMaps(python.Id);
        var zmq = Assert.Single(objects, o => Path.GetFileName(o.Path).StartsWith("libzmq.so.5", StringComparison.Ordinal));
        Assert.Equal("libzmq.so.5", zmq.Soname);
        Assert.Equal("5", zmq.Version);
    }

    [SkippableFact]
    public void ProcessInAnotherMountNamespace_IsReadThroughItsRoot()
    {
        Requires.Root(output, "unshare -m and a tmpfs mount");
        Requires.Program(output, "unshare");
        Requires.Program(output, "readelf");
        // /mnt/tattle-ns-sleep exists only inside the new namespace: reading the path from here would fail.
        var psi = new ProcessStartInfo("unshare") { RedirectStandardOutput = true };
        foreach (var a in new[] { "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /mnt && cp /bin/sleep /mnt/tattle-ns-sleep && echo ready && exec /mnt/tattle-ns-sleep 30" })
        {
            psi.ArgumentList.Add(a);
        }
        using var sleeper = new RunningChild(Process.Start(psi)!);
        Assert.Equal("ready", sleeper.Process.StandardOutput.ReadLine());
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (new FileInfo($"/proc/{sleeper.Id}/exe").LinkTarget != "/mnt/tattle-ns-sleep")
        {
            Assert.True(DateTime.UtcNow < deadline, "the sleep never started in its namespace");
            Thread.Sleep(20);
        }
        Assert.False(File.Exists("/mnt/tattle-ns-sleep"));
        Assert.Equal(MappedObjectsStatus.Ok, LibraryListing.ForProcess(sleeper.Id, new SymbolGlob("nanosleep"), out var objects));
        var exe = objects[0];
        Assert.Equal("/mnt/tattle-ns-sleep", exe.Path);
        Assert.Equal($"/proc/{sleeper.Id}/root/mnt/tattle-ns-sleep", exe.ReadPath);
        Assert.Null(exe.Error);
        Assert.Equal(ReadElfOracle.Of("/bin/sleep").BuildId, exe.BuildId);
        Assert.Contains(exe.Symbols, s => !s.Defined && s.VersionedName.StartsWith("nanosleep@GLIBC_", StringComparison.Ordinal));
    }

    private IReadOnlyList<LibObject> AssertObjectsMatchMaps(int pid)
    {
        Assert.Equal(MappedObjectsStatus.Ok, LibraryListing.ForProcess(pid, null, out var objects));
        var expected = File.ReadAllLines($"/proc/{pid}/maps")
            .Select(l => l.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 6 && f[1][2] == 'x' && f[5].StartsWith('/'))
            .Select(f => f[5].Trim()).Append(new FileInfo($"/proc/{pid}/exe").LinkTarget!).ToHashSet();
        Assert.Equal(expected.Order(StringComparer.Ordinal), objects.Select(o => o.Path).Order(StringComparer.Ordinal));
        Assert.Equal(new FileInfo($"/proc/{pid}/exe").LinkTarget, objects[0].Path);
        foreach (var o in objects)
        {
            output.WriteLine($"{o.Path} {o.BuildId} {o.Version} {o.VersionDefinition} {(o.Stripped ? "stripped" : "symbols")}");
            Assert.Null(o.Error);
            Assert.Equal(ReadElfOracle.Of(o.ReadPath).BuildId, o.BuildId);
        }
        Assert.Contains(objects, o => o.Soname == "libc.so.6" && o.Version == "6" && o.VersionDefinition!.StartsWith("GLIBC_2.", StringComparison.Ordinal));
        return objects;
    }

    /// <summary>Starts /usr/bin/python3 running <paramref name="code"/>, which prints "ready" once its imports are mapped.</summary>
    internal static RunningChild StartPython(string code)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardInput = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(code);
        var p = Process.Start(psi)!;
        // Once it printed, every import is mapped.
        var running = new RunningChild(p);
        Assert.Equal("ready", p.StandardOutput.ReadLine());
        return running;
    }

    /// <summary>A child process killed at the end of the test.</summary>
    internal sealed class RunningChild(Process process) : IDisposable
    {
        public Process Process => process;

        public int Id => process.Id;

        public void Dispose()
        {
            process.Kill();
            process.WaitForExit();
            process.Dispose();
        }
    }
}
