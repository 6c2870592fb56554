namespace Tattle.Protocols.Dns;

/// <summary>Names of DNS record types and response codes (IANA "Domain Name System (DNS) Parameters").</summary>
internal static class DnsCodes
{
    public const ushort A = 1;
    public const ushort Ns = 2;
    public const ushort Cname = 5;
    public const ushort Soa = 6;
    public const ushort Ptr = 12;
    public const ushort Mx = 15;
    public const ushort Txt = 16;
    public const ushort Aaaa = 28;
    public const ushort Srv = 33;
    public const ushort Dname = 39;
    public const ushort Opt = 41;
    public const ushort Svcb = 64;
    public const ushort Https = 65;

    /// <summary>The type's mnemonic, or "TYPEnnn" (RFC 3597 §5) for one without.</summary>
    public static string TypeName(ushort type) => type switch
    {
        A => "A",
        Ns => "NS",
        Cname => "CNAME",
        Soa => "SOA",
        Ptr => "PTR",
        13 => "HINFO",
        Mx => "MX",
        Txt => "TXT",
        Aaaa => "AAAA",
        Srv => "SRV",
        35 => "NAPTR",
        Dname => "DNAME",
        Opt => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        52 => "TLSA",
        Svcb => "SVCB",
        Https => "HTTPS",
        99 => "SPF",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        _ => "TYPE" + type,
    };

    /// <summary>The response code's name (RFC 1035 §4.1.1, RFC 6895 §2.3), extended ones included.</summary>
    public static string RcodeName(int rcode) => rcode switch
    {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADVERS",
        23 => "BADCOOKIE",
        _ => "RCODE" + rcode,
    };
}
