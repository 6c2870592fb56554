using Tattle.Records;
using Record = Tattle.Records.Record;

namespace Tattle.Tests.Support;

/// <summary>Keeps every record written, for tests of the tracker.</summary>
internal sealed class ListSink : IRecordSink
{
    public List<Record> All { get; } = [];

    public IEnumerable<T> Of<T>() => All.OfType<T>();

    public void Write(Record record) => All.Add(record);

    public void Flush()
    {
    }

    public void Dispose()
    {
    }
}
