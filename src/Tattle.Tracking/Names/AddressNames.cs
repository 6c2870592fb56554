namespace Tattle.Tracking.Names;

/// <summary>
/// The run's DNS cache turned around: address → the name the traced program asked for. Filled from the DNS
/// answers Tattle parses, so a connect to 93.184.215.14 shows "example.com" without a reverse lookup (which
/// would name the CDN, not what the program meant). Bounded; the newest answer for an address wins.
/// </summary>
public sealed class AddressNames
{
    private const int MaxEntries = 65536;
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);

    public int Count => _names.Count;

    /// <summary>Every address with its name.</summary>
    public IEnumerable<KeyValuePair<string, string>> Entries => _names;

    /// <summary>Learns that the program meant <paramref name="name"/> by <paramref name="address"/> (a DNS answer's).</summary>
    public void Add(string address, string name)
    {
        if (_names.Count < MaxEntries || _names.ContainsKey(address))
        {
            _names[address] = name;
        }
    }

    public string? Find(string? address)
    {
        if (address is null)
        {
            return null;
        }
        if (_names.TryGetValue(address, out var name))
        {
            return name;
        }
        // A v4 answer used through a v6 socket appears as ::ffff:a.b.c.d.
        return address.StartsWith("::ffff:", StringComparison.Ordinal) && _names.TryGetValue(address[7..], out name) ? name : null;
    }
}
