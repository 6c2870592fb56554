namespace Tattle.Capture.Tls;

/// <summary>What a TLS probe does at its function: the attach cookie bpf/tattle.bpf.c reads (TATTLE_TLS_*).</summary>
[Flags]
public enum TlsProbeKind : uint
{
    /// <summary>SSL_write(ssl, buf, int num) → int.</summary>
    Write = 0,

    /// <summary>The plaintext is in the buffer at return (SSL_read*, gnutls_record_recv).</summary>
    Recv = 0x1,

    /// <summary>SSL_read_ex/SSL_write_ex: return 1 or 0, the byte count is written through the fourth argument.</summary>
    Ex = 0x2,

    /// <summary>gnutls_record_*: the result is an ssize_t, not an int.</summary>
    SSize = 0x4,

    /// <summary>SSL_set_fd(ssl, fd): entry only; binds the session object to its socket.</summary>
    SetFd = 0x8,

    /// <summary>
    /// Go's crypto/tls (register ABI): the probe sits past the stack check; Write's plaintext is read there, Read's
    /// call is kept per goroutine for its RETs. No uretprobe: Go moves goroutine stacks.
    /// </summary>
    Go = 0x10,

    /// <summary>A RET of Go's (*Conn).Read: the count is in RAX.</summary>
    GoReturn = 0x20,

    /// <summary>NSPR's PR_Read/PR_Write/PR_Send/PR_Recv: only calls on a descriptor with NSS's SSL layer carry plaintext.</summary>
    Nspr = 0x40,

    /// <summary>
    /// A write read at its entry without a return probe (SSL_write, SSL_write_ex, gnutls_record_send): one trap per
    /// call, on an instruction the kernel emulates where there is one (<see cref="ProbeSite"/>).
    /// </summary>
    AtEntry = 0x80,
}

/// <summary>One function of a TLS library to probe: the ELF file, the function's file offset and what it does.</summary>
/// <param name="Path">The file to attach in.</param>
/// <param name="Function">The function, with <c>RET at 0x…</c> (a file offset) for a probe on one of its RETs.</param>
/// <param name="FileOffset">Where the uprobe goes.</param>
/// <param name="Kind">What the kernel side does there.</param>
/// <param name="Go">A Go function's struct layout (the cookie carries it), or null.</param>
/// <param name="File">The file's identity: uprobes are per inode, so one file reached by two paths (the program's
/// path at launch, /proc/PID/exe at exec) must be probed once.</param>
public sealed record TlsAttachPoint(string Path, string Function, ulong FileOffset, TlsProbeKind Kind, Go.GoConnLayout? Go = null, Proc.FileContentsId? File = null)
    : Uprobes.IUprobePoint
{
    /// <summary>Whether a return probe is needed too (everything but SSL_set_fd and Go's).</summary>
    public bool NeedsReturn => (Kind & (TlsProbeKind.SetFd | TlsProbeKind.Go | TlsProbeKind.AtEntry)) == 0;

    /// <summary>
    /// The attach cookie: the kind in bits 0–15 and, for Go, the layout's three offsets in bits 16–31, 32–47 and
    /// 48–63 (bpf/tattle.bpf.c, go_socket_fd).
    /// </summary>
    public ulong Cookie => (ulong)Kind
        | (Go is { } l ? ((ulong)l.ConnInterface << 16) | ((ulong)l.NetFd << 32) | ((ulong)l.SysFd << 48) : 0);

    /// <summary>The probe points of the targets a scan found.</summary>
    public static IReadOnlyList<TlsAttachPoint> From(TlsScan scan) =>
        [.. scan.Targets.SelectMany(PointsOf)];

    private static IEnumerable<TlsAttachPoint> PointsOf(TlsProbeTarget t)
    {
        foreach (var f in t.Functions)
        {
            if (t.Go is not { } go)
            {
                yield return new TlsAttachPoint(t.Path, f.Name, f.ProbeOffset ?? f.FileOffset, KindOf(t.Kind, f), File: t.File);
                continue;
            }
            var kind = TlsProbeKind.Go | (f.Role == TlsRole.Read ? TlsProbeKind.Recv : TlsProbeKind.Write);
            yield return new TlsAttachPoint(t.Path, f.Name, f.ProbeOffset ?? f.FileOffset, kind, go.Layout, t.File);
            foreach (ulong ret in f.ReturnOffsets ?? [])
            {
                yield return new TlsAttachPoint(t.Path, $"{f.Name} RET at 0x{ret:x}", ret, kind | TlsProbeKind.GoReturn, go.Layout, t.File);
            }
        }
    }

    /// <summary>The cookie the kernel side reads for a function of a library.</summary>
    public static TlsProbeKind KindOf(TlsLibraryKind library, TlsFunction f) => (f.Role switch
    {
        TlsRole.Write => TlsProbeKind.Write,
        TlsRole.Read => TlsProbeKind.Recv,
        TlsRole.WriteEx => TlsProbeKind.Ex,
        TlsRole.ReadEx => TlsProbeKind.Recv | TlsProbeKind.Ex,
        _ => TlsProbeKind.SetFd,
    }) | (f.ReturnsSsize ? TlsProbeKind.SSize : 0) | (library == TlsLibraryKind.Nss ? TlsProbeKind.Nspr : 0)
        | (ReadAtEntry(library, f.Role) ? TlsProbeKind.AtEntry : 0);

    /// <summary>
    /// Whether a function's plaintext is read at its entry with no return probe: OpenSSL's and GnuTLS's writes,
    /// which take the whole buffer or are given it again. NSS's writes keep their return probe (its layer check
    /// runs at entry on every NSPR call, TLS or not), Go's are handled apart.
    /// </summary>
    public static bool ReadAtEntry(TlsLibraryKind library, TlsRole role) =>
        library is TlsLibraryKind.OpenSsl or TlsLibraryKind.BoringSsl or TlsLibraryKind.GnuTls && role is TlsRole.Write or TlsRole.WriteEx;
}
