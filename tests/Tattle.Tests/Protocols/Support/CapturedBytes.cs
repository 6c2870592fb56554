namespace Tattle.Tests.Protocols.Support;

/// <summary>Wire bytes captured from real programs, kept under testdata/ with the script that captured them.</summary>
public static class CapturedBytes
{
    public static byte[] Read(string folder, string file) =>
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "testdata", folder, file));
}
