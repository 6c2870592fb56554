using Tattle.Records;

namespace Tattle.Output;

/// <summary>Writes every record to several sinks.</summary>
public sealed class FanOutSink(IReadOnlyList<IRecordSink> sinks) : IRecordSink
{
    public void Write(Record record)
    {
        foreach (var sink in sinks)
        {
            sink.Write(record);
        }
    }

    public void Flush()
    {
        foreach (var sink in sinks)
        {
            sink.Flush();
        }
    }

    public void Dispose()
    {
        foreach (var sink in sinks)
        {
            sink.Dispose();
        }
    }
}
