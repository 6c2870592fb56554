using System.Net;

namespace Tattle.Capture.Proc;

/// <summary>Hook for turning an IP address into a host name (e.g. from a DNS cache); null means "print the number".</summary>
public interface IAddressNames
{
    /// <summary>Host name for an address, or null when unknown.</summary>
    string? NameOf(IPAddress address);
}

/// <summary>The default <see cref="IAddressNames"/>: knows no names, so nothing blocks on DNS.</summary>
public sealed class NoAddressNames : IAddressNames
{
    /// <summary>Shared instance.</summary>
    public static readonly NoAddressNames Instance = new();

    /// <inheritdoc/>
    public string? NameOf(IPAddress address) => null;
}
