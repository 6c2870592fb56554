using System.Buffers;
using System.Text.Json;

namespace Tattle.Records.Json;

/// <summary>
/// A value encoded once and written again as raw JSON: for parts of a record that recur byte for byte (a
/// connection's fields, a keep-alive peer's header block), one copy instead of a writer call per field.
/// </summary>
public static class JsonFragment
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>The bytes <paramref name="write"/> produces, written as the writers of records write (unindented, default escaping).</summary>
    public static byte[] Encode<TState>(TState state, Action<Utf8JsonWriter, TState> write)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        var w = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        w.Reset(buffer);
        write(w, state);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes a property whose value is <paramref name="json"/>, taken as it is.</summary>
    public static void Write(Utf8JsonWriter w, JsonEncodedText name, ReadOnlySpan<byte> json)
    {
        w.WritePropertyName(name);
        w.WriteRawValue(json, skipInputValidation: true);
    }
}
