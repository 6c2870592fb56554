using Tattle.Records;

namespace Tattle.Output;

/// <summary>Writes every record to several sinks.</summary>
public sealed class FanOutSink(IReadOnlyList<IRecordSink> sinks) : IRecordSink
{
    // An array, walked by index: a foreach over the interface allocated an enumerator for every record.
    private readonly IRecordSink[] _sinks = [.. sinks];

    public void Write(Record record)
    {
        foreach (var sink in _sinks)
        {
            sink.Write(record);
        }
    }

    public bool ConsumesAtOnce => _sinks.All(s => s.ConsumesAtOnce);

    public void Flush()
    {
        foreach (var sink in _sinks)
        {
            sink.Flush();
        }
    }

    public void Dispose()
    {
        foreach (var sink in _sinks)
        {
            sink.Dispose();
        }
    }
}
