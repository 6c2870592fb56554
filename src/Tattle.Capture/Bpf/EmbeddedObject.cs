namespace Tattle.Capture.Bpf;

/// <summary>The BPF objects compiled by bpf/bpf.targets and embedded in this assembly.</summary>
public static class EmbeddedObject
{
    public static byte[] Read(string resource)
    {
        using var stream = typeof(EmbeddedObject).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"resource {resource} missing: the BPF build did not run");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}
