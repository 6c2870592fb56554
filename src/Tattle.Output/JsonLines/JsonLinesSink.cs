using System.Text.Json;
using Tattle.Records;

namespace Tattle.Output.JsonLines;

/// <summary>
/// Writes records as JSON Lines (one object per line; schema in docs/json-schema.md). Buffered; every
/// <see cref="Flush"/> leaves the file ending at a complete line, so it is valid whenever tattle stops.
/// </summary>
public sealed class JsonLinesSink : IRecordSink
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };
    private readonly Stream _stream;
    private readonly Utf8JsonWriter _json;
    private readonly bool _ownsStream;

    public JsonLinesSink(Stream stream, bool ownsStream = true)
    {
        _stream = new BufferedStream(stream, 1 << 16);
        _ownsStream = ownsStream;
        _json = new Utf8JsonWriter(_stream, WriterOptions);
    }

    /// <summary>Opens a file ("-" for standard output).</summary>
    public static JsonLinesSink Open(string path) => path == "-"
        ? new JsonLinesSink(System.Console.OpenStandardOutput(), ownsStream: false)
        : new JsonLinesSink(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1, FileOptions.None));

    public long RecordsWritten { get; private set; }

    public void Write(Record record)
    {
        RecordJson.Write(_json, record);
        _json.Flush();
        _json.Reset();
        _stream.WriteByte((byte)'\n');
        RecordsWritten++;
    }

    public void Flush()
    {
        _json.Flush();
        _stream.Flush();
    }

    public void Dispose()
    {
        Flush();
        _json.Dispose();
        if (_ownsStream)
        {
            _stream.Dispose();
        }
    }
}
