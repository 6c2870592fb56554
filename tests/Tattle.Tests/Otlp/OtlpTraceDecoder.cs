using Google.Protobuf;
using static Google.Protobuf.WireFormat;

namespace Tattle.Tests.Otlp;

/// <summary>A ResourceSpans as the decoder read it: the resource's attributes and its spans with their scope.</summary>
public sealed record DecodedResourceSpans(
    IReadOnlyDictionary<string, object> Resource, string ScopeName, string ScopeVersion, IReadOnlyList<DecodedSpan> Spans);

/// <summary>A Span as the decoder read it; Kind and StatusCode are the wire numbers.</summary>
public sealed record DecodedSpan(
    byte[] TraceId, byte[] SpanId, byte[] ParentSpanId, string Name, int Kind, ulong StartUnixNs, ulong EndUnixNs,
    IReadOnlyDictionary<string, object> Attributes, int StatusCode, string StatusMessage);

/// <summary>
/// Reads an ExportTraceServiceRequest back into plain objects, skipping fields it does not know; a body that does
/// not parse is a false return with the reason, never an exception.
/// </summary>
public static class OtlpTraceDecoder
{
    // Wire types, for tags written as field << 3 | type.
    internal const uint Varint = 0, Fixed64 = 1, Len = 2;

    public static bool TryDecode(byte[] request, out List<DecodedResourceSpans> resources, out string? error) =>
        TryRead(() => Repeated(request, 1).SelectMany(ResourceSpans).ToList(), out resources, out error);

    /// <summary>The request's spans, all resources together; throws (fails the test) when it does not parse.</summary>
    public static List<DecodedSpan> Spans(byte[] request) =>
        TryDecode(request, out var resources, out var error)
            ? [.. resources.SelectMany(r => r.Spans)]
            : throw new InvalidDataException($"not an ExportTraceServiceRequest: {error}");

    private static IEnumerable<DecodedResourceSpans> ResourceSpans(ByteString bytes)
    {
        var (encodedResource, scopeSpans) = Container(bytes);
        var resource = Resource(encodedResource);
        foreach (var one in scopeSpans)
        {
            var (scope, spans) = Container(one);
            var (name, version) = Scope(scope);
            yield return new DecodedResourceSpans(resource, name, version, [.. spans.Select(Span)]);
        }
    }

    private static DecodedSpan Span(ByteString bytes)
    {
        byte[] traceId = [], spanId = [], parent = [];
        string name = "", statusMessage = "";
        int kind = 0, statusCode = 0;
        ulong start = 0, end = 0;
        var attributes = new Dictionary<string, object>();
        Fields(bytes, (tag, input) =>
        {
            switch (tag)
            {
                case 1 << 3 | Len: traceId = input.ReadBytes().ToByteArray(); return true;
                case 2 << 3 | Len: spanId = input.ReadBytes().ToByteArray(); return true;
                case 4 << 3 | Len: parent = input.ReadBytes().ToByteArray(); return true;
                case 5 << 3 | Len: name = input.ReadString(); return true;
                case 6 << 3: kind = input.ReadEnum(); return true;
                case 7 << 3 | Fixed64: start = input.ReadFixed64(); return true;
                case 8 << 3 | Fixed64: end = input.ReadFixed64(); return true;
                case 9 << 3 | Len: AddKeyValue(attributes, input.ReadBytes()); return true;
                case 15 << 3 | Len:
                    Fields(input.ReadBytes(), (f, status) =>
                    {
                        if (f == (2 << 3 | Len)) { statusMessage = status.ReadString(); return true; }
                        if (f == 3 << 3) { statusCode = status.ReadEnum(); return true; }
                        return false;
                    });
                    return true;
                default:
                    return false;
            }
        });
        return new DecodedSpan(traceId, spanId, parent, name, kind, start, end, attributes, statusCode, statusMessage);
    }

    /// <summary>KeyValue{1 key, 2 value AnyValue{1 string, 2 bool, 3 int64, 4 double, 7 bytes}} into a dictionary.</summary>
    internal static void AddKeyValue(Dictionary<string, object> into, ByteString bytes)
    {
        string key = "";
        object value = "";
        Fields(bytes, (tag, input) =>
        {
            if (tag == (1 << 3 | Len))
            {
                key = input.ReadString();
                return true;
            }
            if (tag == (2 << 3 | Len))
            {
                Fields(input.ReadBytes(), (t, any) =>
                {
                    switch (t)
                    {
                        case 1 << 3 | Len: value = any.ReadString(); return true;
                        case 2 << 3: value = any.ReadBool(); return true;
                        case 3 << 3: value = any.ReadInt64(); return true;
                        case 4 << 3 | Fixed64: value = any.ReadDouble(); return true;
                        case 7 << 3 | Len: value = any.ReadBytes().ToByteArray(); return true;
                        default: return false;
                    }
                });
                return true;
            }
            return false;
        });
        into[key] = value;
    }

    /// <summary>
    /// ResourceSpans/ResourceMetrics{1 resource, 2 repeated scope_*} and ScopeSpans/ScopeMetrics{1 scope, 2 repeated
    /// spans or metrics}: the first field (empty when absent) and each occurrence of the second.
    /// </summary>
    internal static (ByteString First, List<ByteString> Items) Container(ByteString bytes)
    {
        var first = ByteString.Empty;
        var items = new List<ByteString>();
        Fields(bytes, (tag, input) =>
        {
            switch (tag)
            {
                case 1 << 3 | Len: first = input.ReadBytes(); return true;
                case 2 << 3 | Len: items.Add(input.ReadBytes()); return true;
                default: return false;
            }
        });
        return (first, items);
    }

    /// <summary>Resource{1 attributes} into a dictionary.</summary>
    internal static Dictionary<string, object> Resource(ByteString resource)
    {
        var attributes = new Dictionary<string, object>();
        foreach (var kv in Repeated(resource.ToByteArray(), 1))
        {
            AddKeyValue(attributes, kv);
        }
        return attributes;
    }

    /// <summary>InstrumentationScope{1 name, 2 version}.</summary>
    internal static (string Name, string Version) Scope(ByteString bytes)
    {
        string name = "", version = "";
        Fields(bytes, (tag, scope) =>
        {
            switch (tag)
            {
                case 1 << 3 | Len: name = scope.ReadString(); return true;
                case 2 << 3 | Len: version = scope.ReadString(); return true;
                default: return false;
            }
        });
        return (name, version);
    }

    /// <summary>What <paramref name="read"/> returns, or false with protobuf's reason when the bytes do not parse.</summary>
    internal static bool TryRead<T>(Func<T> read, out T value, out string? error) where T : new()
    {
        try
        {
            value = read();
            error = null;
            return true;
        }
        catch (InvalidProtocolBufferException e)
        {
            value = new T();
            error = e.Message;
            return false;
        }
    }

    /// <summary>Each occurrence of a length-delimited field of a message.</summary>
    internal static List<ByteString> Repeated(byte[] message, int field)
    {
        var found = new List<ByteString>();
        Fields(ByteString.CopyFrom(message), (tag, input) =>
        {
            if (tag == MakeTag(field, WireType.LengthDelimited))
            {
                found.Add(input.ReadBytes());
                return true;
            }
            return false;
        });
        return found;
    }

    /// <summary>Calls <paramref name="read"/> with each tag; a false return means "not mine", and the field is skipped.</summary>
    internal static void Fields(ByteString message, Func<uint, CodedInputStream, bool> read)
    {
        var input = message.CreateCodedInput();
        while (input.ReadTag() is var tag and not 0)
        {
            if (!read(tag, input))
            {
                input.SkipLastField();
            }
        }
    }
}
