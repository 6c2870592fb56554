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
}

/// <summary>One function of a TLS library to probe: the ELF file, the function's file offset and what it does.</summary>
public sealed record TlsAttachPoint(string Path, string Function, ulong FileOffset, TlsProbeKind Kind)
{
    /// <summary>Whether a return probe is needed too (everything but SSL_set_fd).</summary>
    public bool NeedsReturn => (Kind & TlsProbeKind.SetFd) == 0;

    /// <summary>The probe kind of a function Tattle knows, or null.</summary>
    public static TlsProbeKind? KindOf(string function) => function switch
    {
        "SSL_write" => TlsProbeKind.Write,
        "SSL_read" => TlsProbeKind.Recv,
        "SSL_write_ex" => TlsProbeKind.Ex,
        "SSL_read_ex" => TlsProbeKind.Recv | TlsProbeKind.Ex,
        "gnutls_record_send" => TlsProbeKind.SSize,
        "gnutls_record_recv" => TlsProbeKind.Recv | TlsProbeKind.SSize,
        "SSL_set_fd" => TlsProbeKind.SetFd,
        _ => null,
    };

    /// <summary>The functions probed, in the order they are attached.</summary>
    public static readonly IReadOnlyList<string> Functions =
        ["SSL_write", "SSL_read", "SSL_write_ex", "SSL_read_ex", "SSL_set_fd", "gnutls_record_send", "gnutls_record_recv"];
}
