using System.Text;

namespace Tattle.Records;

/// <summary>Bytes as strace shows them: printable ASCII as is, the rest as C escapes (\n, \", \x1b).</summary>
public static class CEscapes
{
    public static string Escape(ReadOnlySpan<byte> data)
    {
        var sb = new StringBuilder(data.Length);
        foreach (byte b in data)
        {
            sb.Append(b switch
            {
                (byte)'\n' => "\\n",
                (byte)'\r' => "\\r",
                (byte)'\t' => "\\t",
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }
        return sb.ToString();
    }
}
