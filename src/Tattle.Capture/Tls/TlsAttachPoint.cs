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

    /// <summary>NSPR's PR_Read/PR_Write/PR_Send/PR_Recv: only calls on a descriptor with NSS's SSL layer carry plaintext.</summary>
    Nspr = 0x40,
}

/// <summary>One function of a TLS library to probe: the ELF file, the function's file offset and what it does.</summary>
public sealed record TlsAttachPoint(string Path, string Function, ulong FileOffset, TlsProbeKind Kind)
{
    /// <summary>Whether a return probe is needed too (everything but SSL_set_fd).</summary>
    public bool NeedsReturn => (Kind & TlsProbeKind.SetFd) == 0;

    /// <summary>The probe points of the targets a scan found.</summary>
    public static IReadOnlyList<TlsAttachPoint> From(TlsScan scan) =>
        [.. scan.Targets.SelectMany(t => t.Functions.Select(f => new TlsAttachPoint(t.Path, f.Name, f.FileOffset, KindOf(t.Kind, f))))];

    /// <summary>The cookie the kernel side reads for a function of a library.</summary>
    public static TlsProbeKind KindOf(TlsLibraryKind library, TlsFunction f) => (f.Role switch
    {
        TlsRole.Write => TlsProbeKind.Write,
        TlsRole.Read => TlsProbeKind.Recv,
        TlsRole.WriteEx => TlsProbeKind.Ex,
        TlsRole.ReadEx => TlsProbeKind.Recv | TlsProbeKind.Ex,
        _ => TlsProbeKind.SetFd,
    }) | (f.ReturnsSsize ? TlsProbeKind.SSize : 0) | (library == TlsLibraryKind.Nss ? TlsProbeKind.Nspr : 0);
}
