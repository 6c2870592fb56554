using System.Buffers;
using System.Text.Json;

namespace Tattle.Records.Json;

/// <summary>
/// A value encoded once and written again as raw JSON: for parts of a record that recur byte for byte (a
/// connection's fields, a keep-alive peer's header block), one copy instead of a writer call per field.
/// </summary>
public static class JsonFragment
{
    private static readonly JsonWriterOptions Options = new() { SkipValidation = true };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    [ThreadStatic]
    private static bool t_busy;

    /// <summary>The bytes <paramref name="write"/> produces, written as the writers of records write (unindented, default escaping).</summary>
    public static byte[] Encode<TState>(TState state, Action<Utf8JsonWriter, TState> write)
    {
        // A fragment can hold another one (an http record's run holds its header blocks, each encoded when first
        // repeated), and the inner one gets a buffer and a writer of its own.
        bool nested = t_busy;
        var buffer = nested ? new ArrayBufferWriter<byte>(512) : t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        var w = nested ? new Utf8JsonWriter(buffer, Options) : t_writer ??= new Utf8JsonWriter(buffer, Options);
        w.Reset(buffer);
        t_busy = true;
        try
        {
            write(w, state);
            w.Flush();
        }
        finally
        {
            t_busy = nested;
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A run of members that <paramref name="write"/> puts into an object, as the value of its first member: the
    /// object's braces and the first member's name go, and <see cref="Write"/> with that name puts the run back into
    /// another object, followed by a comma as any value is (the writer skips validation).
    /// </summary>
    public static byte[] EncodeMembers<TState>(JsonEncodedText firstName, TState state, Action<Utf8JsonWriter, TState> write)
    {
        byte[] json = Encode((write, state), static (w, run) =>
        {
            w.WriteStartObject();
            run.write(w, run.state);
            w.WriteEndObject();
        });
        // {"NAME":VALUE ... } → VALUE ...
        int skip = 1 + firstName.EncodedUtf8Bytes.Length + 3;
        return json[skip..^1];
    }

    /// <summary>Writes a property whose value is <paramref name="json"/>, taken as it is.</summary>
    public static void Write(Utf8JsonWriter w, JsonEncodedText name, ReadOnlySpan<byte> json)
    {
        w.WritePropertyName(name);
        w.WriteRawValue(json, skipInputValidation: true);
    }
}
