using System.Buffers;
using System.Text.Json;
using Tattle.Interop;
using Tattle.Records;

namespace Tattle.Output.JsonLines;

/// <summary>
/// Writes records as JSON Lines (one object per line; schema in docs/json-schema.md). Buffered; every
/// <see cref="Flush"/> leaves the file ending at a complete line, so it is valid whenever tattle stops.
/// </summary>
public sealed class JsonLinesSink : IRecordSink
{
    private const int BufferBytes = 1 << 16;
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };
    private readonly Stream _stream;
    private readonly ArrayBufferWriter<byte> _buffer = new(BufferBytes + 4096);
    private readonly Utf8JsonWriter _json;
    private readonly bool _ownsStream;

    public JsonLinesSink(Stream stream, bool ownsStream = true)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        // Into memory, not the stream: Utf8JsonWriter.Flush on a stream flushes the stream too, which made every
        // record a write(2) of its own (a fifth of tattle's CPU under load).
        _json = new Utf8JsonWriter(_buffer, WriterOptions);
    }

    /// <summary>Opens a file ("-" for standard output), private to its user (<see cref="OutputFile"/>).</summary>
    public static JsonLinesSink Open(string path) => path == "-"
        ? new JsonLinesSink(StandardStream.Output, ownsStream: false)
        : new JsonLinesSink(OutputFile.Create(path, bufferSize: 1));

    public long RecordsWritten { get; private set; }

    public void Write(Record record)
    {
        RecordJson.Write(_json, record);
        _json.Flush();
        _json.Reset();
        _buffer.GetSpan(1)[0] = (byte)'\n';
        _buffer.Advance(1);
        RecordsWritten++;
        if (_buffer.WrittenCount >= BufferBytes)
        {
            WriteOut();
        }
    }

    // Each record is encoded into the buffer before Write returns.
    public bool ConsumesAtOnce => true;

    public void Flush()
    {
        WriteOut();
        _stream.Flush();
    }

    private void WriteOut()
    {
        if (_buffer.WrittenCount > 0)
        {
            _stream.Write(_buffer.WrittenSpan);
            _buffer.ResetWrittenCount();
        }
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
