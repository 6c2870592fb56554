using System.Text;
using System.Text.Json;

namespace Tattle.Cli.Commands;

/// <summary>Output shared by the commands that print one snapshot: aligned columns, and JSON Lines records.</summary>
internal static class TextTable
{
    /// <summary>Writes rows (the first is the header) indented by two, columns padded to their widest cell.</summary>
    internal static void WriteAligned(TextWriter w, List<string[]> rows)
    {
        var widths = new int[rows.Count == 0 ? 0 : rows[0].Length];
        foreach (var row in rows)
        {
            for (int c = 0; c < row.Length; c++)
            {
                widths[c] = Math.Max(widths[c], row[c].Length);
            }
        }
        var line = new StringBuilder(160);
        foreach (var row in rows)
        {
            line.Clear().Append("  ");
            for (int c = 0; c < row.Length; c++)
            {
                // The last column is not padded: no trailing blanks.
                line.Append(c == row.Length - 1 ? row[c] : row[c].PadRight(widths[c] + 2));
            }
            w.WriteLine(line.ToString().TrimEnd()); // an empty last cell leaves the padding of the one before
        }
    }

    /// <summary>Closes the current JSON object and ends its line, ready for the next record.</summary>
    internal static void EndJsonLine(Utf8JsonWriter json, Stream output)
    {
        json.WriteEndObject();
        json.Flush();
        output.WriteByte((byte)'\n');
        json.Reset();
    }
}
