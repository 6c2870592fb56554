using Tattle.Capture.Elf;
using Tattle.Capture.Proc;
using Tattle.Capture.Tls;
using Tattle.Tests.Capture.Elf;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Tls;

/// <summary>Discovery in live processes and the system's directories, checked against readelf.</summary>
[Collection(nameof(TlsLibrariesTests))] // TlsObjects' parse counter is process-wide
public class TlsLibrariesTests(ITestOutputHelper output)
{
    [Fact]
    public void Python_FindsLibssl3_WithAllFourFunctions_AtReadelfOffsets()
    {
        using var python = TlsTestProcess.Python();
        var scan = TlsLibraries.ForProcess(python.Pid);
        Assert.Equal(TlsScanStatus.Ok, scan.Status);
        var ssl = Assert.Single(scan.Targets);
        Assert.Equal(TlsLibraryKind.OpenSsl, ssl.Kind);
        Assert.Equal("libssl.so.3", Path.GetFileName(ssl.MappedPath));
        Assert.Equal(ssl.MappedPath, ssl.Path); // same mount namespace
        Assert.Equal("OpenSSL 3", ssl.Version);
        Assert.Equal([TlsRole.Write, TlsRole.Read, TlsRole.WriteEx, TlsRole.ReadEx, TlsRole.SetFd], ssl.Functions.Select(f => f.Role));
        Assert.Equal(["SSL_write", "SSL_read", "SSL_write_ex", "SSL_read_ex", "SSL_set_fd"], ssl.Functions.Select(f => f.Name));
        Assert.All(ssl.Functions, f => Assert.False(f.ReturnsSsize));
        TlsTestProcess.AssertOffsetsMatchReadelf(ssl);
        Assert.Empty(scan.Unreadable);

        // The second look parses nothing: every object python maps is cached by device, inode, size and mtime.
        long parses = TlsObjects.Parses;
        var again = TlsLibraries.ForProcess(python.Pid);
        Assert.Equal(parses, TlsObjects.Parses);
        Assert.Equal(ssl, Assert.Single(again.Targets), TargetComparer);
    }

    [SkippableFact]
    public void Wget_FindsGnuTls_SendAndRecv()
    {
        Requires.Program(output, "wget");
        using var wget = TlsTestProcess.Wget();
        var scan = TlsLibraries.ForProcess(wget.Pid);
        var gnutls = Assert.Single(scan.Targets, t => t.Kind == TlsLibraryKind.GnuTls);
        Assert.StartsWith("libgnutls.so.30", Path.GetFileName(gnutls.MappedPath), StringComparison.Ordinal);
        Assert.Equal("GnuTLS (ABI 30)", gnutls.Version);
        Assert.Equal([("gnutls_record_send", TlsRole.Write), ("gnutls_record_recv", TlsRole.Read)], gnutls.Functions.Select(f => (f.Name, f.Role)));
        Assert.All(gnutls.Functions, f => Assert.True(f.ReturnsSsize));
        TlsTestProcess.AssertOffsetsMatchReadelf(gnutls);
    }

    [SkippableFact]
    public void Node_FindsStaticOpenSsl_InTheExecutable()
    {
        Requires.FileFrom(output, ElfFileTests.Node, "nodejs");
        using var node = TlsTestProcess.Node();
        var scan = TlsLibraries.ForProcess(node.Pid);
        var ssl = Assert.Single(scan.Targets);
        Assert.Equal(ElfFileTests.Node, ssl.Path);
        Assert.Equal(TlsLibraryKind.OpenSsl, ssl.Kind);
        Assert.Null(ssl.Version);
        Assert.Equal(5, ssl.Functions.Count); // SSL_write, SSL_read, their _ex forms and SSL_set_fd
        TlsTestProcess.AssertOffsetsMatchReadelf(ssl);
        Assert.Equal(ssl, Assert.Single(TlsLibraries.ForExecutable(ElfFileTests.Node).Targets), TargetComparer);
    }

    [Fact]
    public void Sleep_HasNoTls()
    {
        using var sleep = TlsTestProcess.Sleep();
        var scan = TlsLibraries.ForProcess(sleep.Pid);
        Assert.Equal(TlsScanStatus.Ok, scan.Status);
        Assert.Empty(scan.Targets);
        Assert.Empty(scan.Unreadable);
    }

    [Fact]
    public void MissingProcess_IsReported()
    {
        Assert.Equal(TlsScanStatus.NoProcess, TlsLibraries.ForProcess(int.MaxValue).Status);
        Assert.Equal(TlsScanStatus.NoProcess, TlsLibraries.ForProcess(0).Status);
    }

    [Fact]
    public void System_ListsLibsslAndGnuTls_OncePerInode()
    {
        var scan = TlsLibraries.System();
        Assert.Empty(scan.Unreadable);
        var ssl = Assert.Single(scan.Targets, t => t.Path == ElfFileTests.LibSsl);
        Assert.Equal(5, ssl.Functions.Count);
        var gnutls = Assert.Single(scan.Targets, t => t.Kind == TlsLibraryKind.GnuTls);
        Assert.Equal(Path.GetFullPath(new FileInfo(ElfFileTests.LibGnuTls).ResolveLinkTarget(true)!.FullName), gnutls.Path);
        Assert.Equal(scan.Targets.Count, scan.Targets.Select(t => (t.File.DeviceMajor, t.File.DeviceMinor, t.File.Inode)).Distinct().Count());
        TlsTestProcess.AssertOffsetsMatchReadelf(ssl);
        TlsTestProcess.AssertOffsetsMatchReadelf(gnutls);
    }

    [Fact]
    public void ForExecutable_WithoutTls_AndUnreadable()
    {
        Assert.Empty(TlsLibraries.ForExecutable("/bin/sleep").Targets);
        var missing = TlsLibraries.ForExecutable("/no/such/file");
        Assert.Equal(new TlsUnreadable("/no/such/file", "not found"), Assert.Single(missing.Unreadable));
        var text = TlsLibraries.ForExecutable("/etc/hostname");
        Assert.Equal("not an ELF file", Assert.Single(text.Unreadable).Reason);
    }

    [Fact]
    public void Maps_ExecutableFileMappings()
    {
        const string maps = """
            55d0c0a00000-55d0c0a28000 r--p 00000000 08:01 1311 /usr/bin/python3.11
            55d0c0a28000-55d0c0d5e000 r-xp 00028000 08:01 1311 /usr/bin/python3.11
            7f1c2c000000-7f1c2c021000 rw-p 00000000 00:00 0
            7f1c2d000000-7f1c2d100000 r-xp 00000000 08:01 2222                       /opt/my app/lib ssl.so (deleted)
            7f1c2e000000-7f1c2e100000 r-xp 00000000 08:01 3333                       /usr/lib/x86_64-linux-gnu/libssl.so.3
            7f1c2e200000-7f1c2e300000 r-xp 00001000 08:01 3333                       /usr/lib/x86_64-linux-gnu/libssl.so.3
            7ffd1b9f0000-7ffd1b9f2000 r-xp 00000000 00:00 0                          [vdso]
            ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
            garbage
            """;
        Assert.Equal(["/usr/bin/python3.11", "/opt/my app/lib ssl.so (deleted)", "/usr/lib/x86_64-linux-gnu/libssl.so.3"], ProcMaps.ExecutableFiles(maps));
    }

    [Theory]
    [InlineData("/usr/lib/x86_64-linux-gnu/libssl.so.3", TlsLibraryKind.OpenSsl, "OpenSSL 3")]
    [InlineData("/usr/lib/libssl.so.1.1", TlsLibraryKind.OpenSsl, "OpenSSL 1.1")]
    [InlineData("/usr/lib/libssl.so.1.0.2", TlsLibraryKind.OpenSsl, "OpenSSL 1.0")]
    [InlineData("/usr/bin/node", TlsLibraryKind.OpenSsl, null)]
    [InlineData("/usr/lib/libssl.so", TlsLibraryKind.BoringSsl, null)]
    [InlineData("/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3", TlsLibraryKind.GnuTls, "GnuTLS (ABI 30)")]
    [InlineData("/usr/lib/x86_64-linux-gnu/libnspr4.so", TlsLibraryKind.Nss, "NSPR 4")]
    public void Version_FromFileName(string path, TlsLibraryKind kind, string? expected) =>
        Assert.Equal(expected, TlsCatalog.VersionFromFileName(path, kind));

    [Fact]
    public void Classify_BoringSslMarkers_AndNss()
    {
        ElfFunction F(string name, ulong at) => new(name, at, 10, at, ElfSymbolTable.DynSym);
        var boring = TlsCatalog.Classify([F("SSL_read", 0x10), F("SSL_write", 0x20), F("BORINGSSL_self_test", 0x30)]).Single();
        Assert.Equal(TlsLibraryKind.BoringSsl, boring.Kind);
        Assert.Equal([TlsRole.Write, TlsRole.Read], boring.Functions.Select(f => f.Role));
        var nss = TlsCatalog.Classify([F("PR_Read", 0x10), F("PR_Write", 0x20)]).Single();
        Assert.Equal(TlsLibraryKind.Nss, nss.Kind);
        // The _ex functions alone are not a library: nothing reads or writes through them without SSL_read/SSL_write.
        Assert.Empty(TlsCatalog.Classify([F("SSL_read_ex", 0x10), F("BORINGSSL_self_test", 0x30)]));
    }

    [SkippableFact]
    public void Nss_Libnspr4_ReadWriteSendRecv_AreProbedAsNspr()
    {
        const string nspr = "/usr/lib/x86_64-linux-gnu/libnspr4.so";
        Requires.FileFrom(output, nspr, "libnspr4");
        var scan = TlsLibraries.ForExecutable(nspr);
        var target = Assert.Single(scan.Targets);
        Assert.Equal(TlsLibraryKind.Nss, target.Kind);
        Assert.Equal(["PR_Write", "PR_Read", "PR_Send", "PR_Recv"], target.Functions.Select(f => f.Name));
        Assert.Equal([TlsRole.Write, TlsRole.Read, TlsRole.Write, TlsRole.Read], target.Functions.Select(f => f.Role));
        Assert.All(target.Functions, f => Assert.False(f.ReturnsSsize)); // PRInt32
        TlsTestProcess.AssertOffsetsMatchReadelf(target);
        // Every call is an entry and a return probe whose entry keeps only SSL-layered descriptors (bpf: nspr_is_ssl).
        var points = TlsAttachPoint.From(scan);
        Assert.Equal(
            [TlsProbeKind.Nspr, TlsProbeKind.Nspr | TlsProbeKind.Recv, TlsProbeKind.Nspr, TlsProbeKind.Nspr | TlsProbeKind.Recv],
            points.Select(p => p.Kind));
        Assert.All(points, p => Assert.True(p.NeedsReturn));
        Assert.Equal(target.Functions.Select(f => f.FileOffset), points.Select(p => p.FileOffset));
    }

    [Fact]
    public void KindOf_NsprBit_OnlyForNss()
    {
        var read = new TlsFunction("SSL_read", TlsRole.Read, 0x10, 0x10, false);
        Assert.Equal(TlsProbeKind.Recv, TlsAttachPoint.KindOf(TlsLibraryKind.OpenSsl, read));
        Assert.Equal(TlsProbeKind.Recv | TlsProbeKind.Nspr, TlsAttachPoint.KindOf(TlsLibraryKind.Nss, read with { Name = "PR_Recv" }));
        // The cookie bit bpf/tattle.h's TATTLE_TLS_NSPR tests; 0x10 and 0x20 belong to Go's probes.
        Assert.Equal(0x40u, (uint)TlsProbeKind.Nspr);
    }

    [SkippableFact]
    public void System_ListsLibnspr4_ForProgramsThatLoadNssLater()
    {
        const string nspr = "/usr/lib/x86_64-linux-gnu/libnspr4.so";
        Requires.FileFrom(output, nspr, "libnspr4");
        var target = Assert.Single(TlsLibraries.System().Targets, t => t.Kind == TlsLibraryKind.Nss);
        Assert.Equal(new FileInfo(nspr).ResolveLinkTarget(true)?.FullName ?? nspr, target.Path);
    }

    private static readonly IEqualityComparer<TlsProbeTarget> TargetComparer = EqualityComparer<TlsProbeTarget>.Create(
        (a, b) => a is not null && b is not null && a with { Functions = [] } == b with { Functions = [] } && a.Functions.SequenceEqual(b.Functions),
        t => t.Path.GetHashCode(StringComparison.Ordinal));
}
