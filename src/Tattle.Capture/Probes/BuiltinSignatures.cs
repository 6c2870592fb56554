namespace Tattle.Capture.Probes;

/// <summary>
/// The signatures of the functions people ask about most, used when a probe names one without a signature: the
/// resolver (slow DNS shows at once), the socket calls' wrappers, libzmq's messaging, libcurl and OpenSSL's handshake.
/// </summary>
public static class BuiltinSignatures
{
    private static readonly Dictionary<string, string> Texts = new(StringComparer.Ordinal)
    {
        // glibc's resolver: the name asked for, and the time it took.
        ["getaddrinfo"] = "(str node, str service, ptr hints, ptr res) -> int",
        ["gethostbyname"] = "(str name) -> ptr",
        ["gethostbyname2"] = "(str name, int af) -> ptr",
        ["gethostbyname_r"] = "(str name, ptr ret, ptr buf, size buflen, ptr result, ptr h_errnop) -> int",
        ["gethostbyname2_r"] = "(str name, int af, ptr ret, ptr buf, size buflen, ptr result) -> int",
        ["getnameinfo"] = "(sockaddr:len=arg2 addr, uint addrlen, str host, uint hostlen, str serv, uint servlen) -> int",
        ["freeaddrinfo"] = "(ptr res) -> void",

        // libc's socket wrappers (the syscalls themselves are traced anyway: these give the library's view).
        ["connect"] = "(int fd, sockaddr:len=arg3 addr, uint addrlen) -> int",
        ["bind"] = "(int fd, sockaddr:len=arg3 addr, uint addrlen) -> int",
        ["accept"] = "(int fd, ptr addr, ptr addrlen) -> int",
        ["accept4"] = "(int fd, ptr addr, ptr addrlen, int flags) -> int",
        ["send"] = "(int fd, buf:len=arg3 data, size len, int flags) -> long",
        ["recv"] = "(int fd, buf:len=ret data, size len, int flags) -> long",
        ["sendto"] = "(int fd, buf:len=arg3 data, size len, int flags, sockaddr:len=arg6 to, uint tolen) -> long",
        ["recvfrom"] = "(int fd, buf:len=ret data, size len, int flags, ptr from, ptr fromlen) -> long",

        // libzmq: messages by their bytes where the call has them, sockets by address.
        ["zmq_send"] = "(ptr socket, buf:len=arg3 data, size len, int flags) -> int",
        ["zmq_send_const"] = "(ptr socket, buf:len=arg3 data, size len, int flags) -> int",
        ["zmq_recv"] = "(ptr socket, buf:len=ret data, size len, int flags) -> int",
        ["zmq_msg_send"] = "(ptr msg, ptr socket, int flags) -> int",
        ["zmq_msg_recv"] = "(ptr msg, ptr socket, int flags) -> int",
        ["zmq_sendmsg"] = "(ptr socket, ptr msg, int flags) -> int",
        ["zmq_recvmsg"] = "(ptr socket, ptr msg, int flags) -> int",
        ["zmq_connect"] = "(ptr socket, str endpoint) -> int",
        ["zmq_bind"] = "(ptr socket, str endpoint) -> int",
        ["zmq_disconnect"] = "(ptr socket, str endpoint) -> int",
        ["zmq_unbind"] = "(ptr socket, str endpoint) -> int",
        ["zmq_socket"] = "(ptr context, int type) -> ptr",
        ["zmq_close"] = "(ptr socket) -> int",
        ["zmq_poll"] = "(ptr items, int nitems, long timeout) -> int",

        // libcurl: the URL is set with curl_easy_setopt(handle, CURLOPT_URL = 10002, url).
        ["curl_easy_perform"] = "(ptr handle) -> int",
        // The value is read as a string for every option; the string options alone show it (CallValues.CurlOption).
        ["curl_easy_setopt"] = "(ptr handle, int option, str value) -> int",
        ["curl_multi_perform"] = "(ptr multi, ptr running) -> int",

        // OpenSSL's handshake: how long it took, and whether it succeeded (1).
        ["SSL_do_handshake"] = "(ptr ssl) -> int",
        ["SSL_connect"] = "(ptr ssl) -> int",
        ["SSL_accept"] = "(ptr ssl) -> int",
        ["SSL_set_fd"] = "(ptr ssl, int fd) -> int",
        ["SSL_ctrl"] = "(ptr ssl, int cmd, long larg, ptr parg) -> long",
    };

    private static readonly Dictionary<string, CallSignature> Parsed = Texts.ToDictionary(p => p.Key, p =>
        CallSignature.Parse(p.Value, out string error) ?? throw new InvalidOperationException($"built-in signature of {p.Key}: {error}"), StringComparer.Ordinal);

    /// <summary>The functions with a built-in signature.</summary>
    public static IEnumerable<string> Names => Texts.Keys;

    /// <summary>
    /// Functions probed along with another, for what they tell about its calls: curl_easy_setopt carries the URL a
    /// curl_easy_perform fetches.
    /// </summary>
    public static IReadOnlyList<string> CompanionsOf(string function) => function == "curl_easy_perform" ? ["curl_easy_setopt"] : [];

    /// <summary>The built-in signature of <paramref name="function"/>, or null.</summary>
    public static CallSignature? Find(string function) => Parsed.GetValueOrDefault(function);
}
