namespace Tattle.Protocols.Dns;

/// <summary>
/// The names of one message already turned into text, by the offset their labels start at: an answer's owner is
/// usually a pointer to the question (RFC 1035 §4.1.4), so it costs no second string.
/// </summary>
internal sealed class DnsNameCache
{
    private const int Capacity = 8;
    private readonly int[] _starts = new int[Capacity];
    private readonly string[] _names = new string[Capacity];
    private int _count;

    /// <summary>Forgets the names of the previous message.</summary>
    public void Clear() => _count = 0;

    /// <summary>Reads the name at <paramref name="pos"/> as text (null if malformed or cut); see <see cref="DnsName.Read"/>.</summary>
    public string? Read(ReadOnlySpan<byte> message, int pos, out int end)
    {
        int start = pos;
        if (pos + 1 < message.Length && (message[pos] & 0xC0) == 0xC0)
        {
            int target = ((message[pos] & 0x3F) << 8) | message[pos + 1];
            // The same rule DnsName.Read applies to a first pointer; the target's name was read by that rule too.
            if (target >= DnsHeader.Size && target < pos)
            {
                for (int i = 0; i < _count; i++)
                {
                    if (_starts[i] == target)
                    {
                        end = pos + 2;
                        return _names[i];
                    }
                }
            }
            start = target;
        }
        string? name = DnsName.ReadString(message, pos, out end);
        if (name is not null && _count < Capacity)
        {
            _starts[_count] = start;
            _names[_count++] = name;
        }
        return name;
    }
}
