using Tattle.Capture.Events;
using Tattle.Interop;

namespace Tattle.Capture.Bpf;

/// <summary>
/// Where a parser tells the kernel that the rest of a body needs only counting: the kernel programs then walk past
/// those bytes instead of copying them into the ring (a 64 KiB response cost 3.4–3.9 µs of kernel time and 1.5–2 µs
/// of tattle's per request to copy: docs/performance.md, "Large responses").
/// </summary>
public interface IBodySkips
{
    /// <summary>
    /// The socket's payload in <paramref name="direction"/> is body up to stream position <paramref name="end"/>; the
    /// other direction keeps the end given last. The kernel sends one <see cref="DataFlags.Skipped"/> record per
    /// message for the bytes it left out.
    /// </summary>
    void SkipUntil(ulong sock, uint generation, Direction direction, ulong end);

    /// <summary>The socket's connection is over: its entry goes.</summary>
    void Forget(ulong sock);
}

/// <summary>
/// The body_skips map (struct tattle_body_skip): written by user space; the kernel only clears a wake bit it used. body_skips_live holds
/// how many entries there are, so that while there are none a small call pays no lookup.
/// </summary>
internal sealed unsafe class BodySkipMap(int fd, int liveFd) : IBodySkips
{
    /// <summary>The ends last written, per socket: the map's value holds both directions and is written whole.</summary>
    private readonly Dictionary<ulong, (uint Generation, ulong Send, ulong Recv)> _ends = [];

    public void SkipUntil(ulong sock, uint generation, Direction direction, ulong end)
    {
        _ends.TryGetValue(sock, out var ends);
        if (ends.Generation != generation)
        {
            ends = (generation, 0, 0);
        }
        ends = direction == Direction.Send ? ends with { Send = end } : ends with { Recv = end };
        int before = _ends.Count;
        _ends[sock] = ends;
        // A direction that has had a long body may have more: its next large call is sent to user space at once,
        // so the next skip can be asked for before the burst is over.
        var value = new NativeBodySkip
        {
            Gen = generation,
            Wake = (ends.Send != 0 ? 1u : 0u) | (ends.Recv != 0 ? 2u : 0u),
        };
        value.End[0] = ends.Send;
        value.End[1] = ends.Recv;
        // Best effort: a full table (an LRU: it evicts) or a failed update costs only the copy it would have saved.
        _ = Libbpf.MapUpdateElem(fd, &sock, &value, 0);
        if (_ends.Count != before)
        {
            Count();
        }
    }

    public void Forget(ulong sock)
    {
        if (_ends.Remove(sock))
        {
            _ = Libbpf.MapDeleteElem(fd, &sock);
            Count();
        }
    }

    private void Count()
    {
        uint key = 0;
        uint live = (uint)_ends.Count;
        _ = Libbpf.MapUpdateElem(liveFd, &key, &live, 0);
    }
}
