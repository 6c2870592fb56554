using System.Text;
using Tattle.Protocols.Http2.Hpack;

namespace Tattle.Tests.Protocols.Http2.Hpack;

/// <summary>Records what a decoder reports as "name: value" lines ("?" for what it could not know).</summary>
internal sealed class RecordingSink : IHpackHeaderSink
{
    public List<string> Fields { get; } = [];
    public List<int> StaticIndices { get; } = [];

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int staticIndex)
    {
        Fields.Add($"{Encoding.Latin1.GetString(name)}: {Encoding.Latin1.GetString(value)}");
        StaticIndices.Add(staticIndex);
    }

    public void OnUnknownHeader(ReadOnlySpan<byte> value, bool nameOnly)
    {
        Fields.Add(nameOnly ? $"?: {Encoding.Latin1.GetString(value)}" : "?");
        StaticIndices.Add(0);
    }
}

/// <summary>Header blocks as the RFC prints them; the field representations come from <see cref="HpackWriter"/>.</summary>
internal static class HpackWire
{
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
}
