using System.Buffers;
using System.Text.Json;
using Tattle.Output.JsonLines;
using Tattle.Records;

namespace Tattle.Report;

/// <summary>
/// Feeds records as they are made (`check`'s trace, a capture read by `report`) to an <see cref="InventoryBuilder"/>
/// through their JSON form: one aggregation, the same whether the records come from a file or from a trace.
/// </summary>
public sealed class InventorySink(InventoryBuilder builder) : IRecordSink
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private Utf8JsonWriter? _json;

    public void Write(Record record)
    {
        _json ??= new Utf8JsonWriter(_buffer, WriterOptions);
        RecordJson.Write(_json, record);
        _json.Flush();
        builder.AddLine(_buffer.WrittenSpan);
        _json.Reset();
        _buffer.ResetWrittenCount();
    }

    // Each record is written as its JSON line and handed over as bytes.
    public bool ConsumesAtOnce => true;

    public void Flush()
    {
    }

    public void Dispose() => _json?.Dispose();
}
