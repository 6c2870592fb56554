using System.Text.RegularExpressions;
using Tattle.Capture.Elf;

namespace Tattle.Capture.Tls;

/// <summary>The functions each TLS library is probed at, and how an object's symbols say which library it carries.</summary>
internal static partial class TlsCatalog
{
    /// <summary>Every name looked up in each object: the probe points and the BoringSSL markers.</summary>
    internal static readonly string[] AllNames;

    private static readonly Entry[] Entries =
    [
        new("SSL_write", TlsLibraryKind.OpenSsl, TlsRole.Write, false),
        new("SSL_read", TlsLibraryKind.OpenSsl, TlsRole.Read, false),
        new("SSL_write_ex", TlsLibraryKind.OpenSsl, TlsRole.WriteEx, false),
        new("SSL_read_ex", TlsLibraryKind.OpenSsl, TlsRole.ReadEx, false),
        new("SSL_set_fd", TlsLibraryKind.OpenSsl, TlsRole.SetFd, false),
        // ssize_t gnutls_record_send(gnutls_session_t, const void *, size_t) and _recv(…, void *, size_t).
        new("gnutls_record_send", TlsLibraryKind.GnuTls, TlsRole.Write, true),
        new("gnutls_record_recv", TlsLibraryKind.GnuTls, TlsRole.Read, true),
        // PRInt32 PR_Write(PRFileDesc *, const void *, PRInt32) and PR_Send(…, PRIntn flags, PRIntervalTime): every
        // NSPR fd, TLS or not, goes through these; the entry probe keeps the calls on NSS's SSL layer (TlsProbeKind.Nspr).
        new("PR_Write", TlsLibraryKind.Nss, TlsRole.Write, false),
        new("PR_Read", TlsLibraryKind.Nss, TlsRole.Read, false),
        new("PR_Send", TlsLibraryKind.Nss, TlsRole.Write, false),
        new("PR_Recv", TlsLibraryKind.Nss, TlsRole.Read, false),
    ];

    // Exported by BoringSSL and not by OpenSSL; a BoringSSL that exports none of them is reported as OpenSSL, whose
    // SSL_read/SSL_write it shares.
    private static readonly string[] BoringSslMarkers = ["BORINGSSL_self_test", "CRYPTO_BUFFER_new", "SSL_get_ivs"];

    static TlsCatalog()
    {
        AllNames = [.. Entries.Select(e => e.Name), .. BoringSslMarkers];
    }

    /// <summary>The libraries an object's functions make up: one per kind whose read or write functions it defines.</summary>
    internal static IEnumerable<(TlsLibraryKind Kind, IReadOnlyList<TlsFunction> Functions)> Classify(IReadOnlyList<ElfFunction> found)
    {
        bool boring = found.Any(f => BoringSslMarkers.Contains(f.Name));
        foreach (var family in new[] { TlsLibraryKind.OpenSsl, TlsLibraryKind.GnuTls, TlsLibraryKind.Nss })
        {
            var functions = new List<TlsFunction>();
            foreach (var e in Entries.Where(e => e.Family == family))
            {
                foreach (var f in found.Where(f => f.Name == e.Name))
                {
                    functions.Add(new TlsFunction(f.Name, e.Role, f.Address, f.FileOffset, e.ReturnsSsize));
                }
            }
            if (functions.Any(f => f.Role is TlsRole.Read or TlsRole.Write))
            {
                yield return (family == TlsLibraryKind.OpenSsl && boring ? TlsLibraryKind.BoringSsl : family, functions);
            }
        }
    }

    /// <summary>A version from the library's file name: "OpenSSL 3" (libssl.so.3), "OpenSSL 1.1" (libssl.so.1.1), …; null if none.</summary>
    internal static string? VersionFromFileName(string path, TlsLibraryKind kind)
    {
        string name = Path.GetFileName(path);
        return kind switch
        {
            TlsLibraryKind.OpenSsl when LibSsl().Match(name) is { Success: true } m =>
                "OpenSSL " + m.Groups[1].Value + (m.Groups[2].Success ? "." + m.Groups[2].Value : ""),
            TlsLibraryKind.GnuTls when LibGnuTls().Match(name) is { Success: true } m => "GnuTLS (ABI " + m.Groups[1].Value + ")",
            TlsLibraryKind.Nss when name.StartsWith("libnspr4.so", StringComparison.Ordinal) => "NSPR 4",
            _ => null,
        };
    }

    [GeneratedRegex(@"^libssl\.so\.(\d+)(?:\.(\d+))?")]
    private static partial Regex LibSsl();

    [GeneratedRegex(@"^libgnutls\.so\.(\d+)")]
    private static partial Regex LibGnuTls();

    private readonly record struct Entry(string Name, TlsLibraryKind Family, TlsRole Role, bool ReturnsSsize);
}
