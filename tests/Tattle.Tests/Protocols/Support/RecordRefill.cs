using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Tests.Protocols.Support;

/// <summary>A message's record made new and made by refilling a spare: the two must be one record, field for field.</summary>
public static class RecordRefill
{
    /// <summary>Asserts that the spare was refilled and equals a new record; returns it.</summary>
    public static T AssertEqualsNew<T>(ProtocolMessage message, MessageRecord spare)
        where T : MessageRecord
    {
        var fresh = message.ToRecord(new FixedMessageContext());
        var refilled = message.ToRecord(new FixedMessageContext(spare: spare));

        Assert.Same(spare, refilled);
        Assert.NotSame(spare, fresh);
        Assert.Equal(fresh, refilled); // every field, the base record's included
        return Assert.IsType<T>(refilled);
    }
}
