using Tattle.Interop;

namespace Tattle.Capture.Bpf;

/// <summary>The BPF objects compiled by bpf/bpf.targets and embedded in this assembly.</summary>
public static unsafe class EmbeddedObject
{
    public static byte[] Read(string resource)
    {
        using var stream = typeof(EmbeddedObject).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"resource {resource} missing: the BPF build did not run");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>
    /// Opens an object from its bytes as a bpf_object named <paramref name="name"/> (NUL-terminated): the name fixes
    /// the internal maps' names ("tattle.rodata"); libbpf copies buffer and name. NULL with errno set on failure.
    /// </summary>
    public static IntPtr Open(byte[] bytes, ReadOnlySpan<byte> name)
    {
        fixed (byte* buffer = bytes)
        fixed (byte* n = name)
        {
            var opts = new Libbpf.ObjectOpenOptions { Size = (nuint)sizeof(Libbpf.ObjectOpenOptions), ObjectName = n };
            return Libbpf.ObjectOpenMem(buffer, (nuint)bytes.Length, &opts);
        }
    }
}
