using Tattle.Capture.Proc;

namespace Tattle.Capture.Tls;

/// <summary>Which TLS implementation an object carries.</summary>
public enum TlsLibraryKind
{
    /// <summary>OpenSSL (libssl.so.*, or linked statically, e.g. into node).</summary>
    OpenSsl,

    /// <summary>BoringSSL: OpenSSL's API plus BoringSSL-only symbols (BORINGSSL_self_test, CRYPTO_BUFFER_new, SSL_get_ivs).</summary>
    BoringSsl,

    /// <summary>GnuTLS (libgnutls.so.30).</summary>
    GnuTls,

    /// <summary>NSS: plaintext passes through NSPR's PR_Read/PR_Write/PR_Send/PR_Recv (libnspr4) on an SSL-layered descriptor.</summary>
    Nss,

    /// <summary>Go's crypto/tls, compiled into the executable: <c>(*Conn).Write</c> and <c>(*Conn).Read</c>.</summary>
    Go,
}

/// <summary>What a probed function does with the plaintext.</summary>
public enum TlsRole
{
    /// <summary>Plaintext in (buf, len) is sent: SSL_write, gnutls_record_send, PR_Write, PR_Send. Bytes written = return value.</summary>
    Write,

    /// <summary>Plaintext is received into (buf, len): SSL_read, gnutls_record_recv, PR_Read, PR_Recv. Bytes read = return value.</summary>
    Read,

    /// <summary>SSL_write_ex(ssl, buf, num, size_t *written): returns 1/0, the count is in *written.</summary>
    WriteEx,

    /// <summary>SSL_read_ex(ssl, buf, num, size_t *readbytes): returns 1/0, the count is in *readbytes.</summary>
    ReadEx,

    /// <summary>SSL_set_fd(ssl, fd): no plaintext; tells which socket the session object will use.</summary>
    SetFd,
}

/// <summary>A TLS function in an object and the file offset a uprobe is attached at.</summary>
/// <param name="Name">The symbol name, e.g. "SSL_read_ex".</param>
/// <param name="Role">What it does with the plaintext.</param>
/// <param name="Address">The symbol's value (virtual address in the object).</param>
/// <param name="FileOffset">Offset in the file of its first instruction: the uprobe offset.</param>
/// <param name="ReturnsSsize">True when the return value is a 64-bit ssize_t (gnutls_record_*), false for int (SSL_*, PR_*).</param>
/// <param name="ReturnOffsets">
/// Go only: the RET instructions probed instead of a uretprobe (Read's; Write's plaintext is read at entry). Null
/// for C libraries, whose return is a uretprobe.
/// </param>
/// <param name="ProbeOffset">
/// Where the entry uprobe goes when not at <paramref name="FileOffset"/>: for a function probed without a return
/// probe, the first instruction the kernel emulates before the arguments change (<see cref="ProbeSite"/>); for Go,
/// past the stack check. Null: the entry.
/// </param>
public sealed record TlsFunction(string Name, TlsRole Role, ulong Address, ulong FileOffset, bool ReturnsSsize, IReadOnlyList<ulong>? ReturnOffsets = null, ulong? ProbeOffset = null);

/// <summary>What a Go executable adds to its target: whether it is stripped, and where its connections keep their socket.</summary>
/// <param name="Stripped">True when the functions came from `.gopclntab` (no `.symtab`).</param>
/// <param name="Layout">The struct offsets from a tls.Conn to its descriptor.</param>
public sealed record GoTlsDetails(bool Stripped, Go.GoConnLayout Layout);

/// <summary>An object that contains a TLS library and where to attach in it.</summary>
/// <param name="Path">The path to attach by, valid in the tracer's mount namespace (/proc/PID/root/… for a process in another one).</param>
/// <param name="MappedPath">The path as the process sees it (/proc/PID/maps); equal to Path outside containers.</param>
/// <param name="Kind">The implementation.</param>
/// <param name="Version">From the file name ("OpenSSL 3" for libssl.so.3, "OpenSSL 1.1" for libssl.so.1.1), Go's build info ("go1.19.8"); null when linked statically.</param>
/// <param name="BuildId">NT_GNU_BUILD_ID in hex, or null.</param>
/// <param name="File">Device, inode, size, mtime of the file read: uprobes are per inode, so equal ids are one attachment.</param>
/// <param name="Functions">The functions found, in the order Write, Read, WriteEx, ReadEx, SetFd.</param>
/// <param name="Go">For a Go executable (<see cref="TlsLibraryKind.Go"/>): stripped or not, and its struct layout.</param>
public sealed record TlsProbeTarget(string Path, string MappedPath, TlsLibraryKind Kind, string? Version, string? BuildId, FileContentsId File, IReadOnlyList<TlsFunction> Functions, GoTlsDetails? Go = null);

/// <summary>An object that could not be examined, and why (deleted since mapped, permission, not x86_64 ELF, …).</summary>
/// <param name="Path">The object, as the process sees it.</param>
/// <param name="Reason">Why it was not read or not probed.</param>
/// <param name="Stack">
/// Set when the object is a TLS implementation Tattle cannot read ("Go crypto/tls" before Go 1.17, "Java JSSE"): a
/// traced program using it sends and receives ciphertext only, and the run's summary says so.
/// </param>
public sealed record TlsUnreadable(string Path, string Reason, string? Stack = null);

/// <summary>Whether the process could be examined at all.</summary>
public enum TlsScanStatus
{
    /// <summary>The objects were listed (some may still be in <see cref="TlsScan.Unreadable"/>).</summary>
    Ok,

    /// <summary>There is no such process (or it exited while being read).</summary>
    NoProcess,

    /// <summary>/proc/PID/maps could not be read: another user's process without root, or ptrace restrictions.</summary>
    PermissionDenied,
}

/// <summary>The TLS libraries found in a process, an executable, or the system's library directories.</summary>
public sealed record TlsScan(TlsScanStatus Status, IReadOnlyList<TlsProbeTarget> Targets, IReadOnlyList<TlsUnreadable> Unreadable);
