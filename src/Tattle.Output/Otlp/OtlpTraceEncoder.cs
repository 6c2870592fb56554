using System.Buffers;
using System.Globalization;
using Google.Protobuf;
using static Google.Protobuf.WireFormat;

namespace Tattle.Output.Otlp;

/// <summary>
/// Encodes spans as an OTLP ExportTraceServiceRequest (opentelemetry.proto.collector.trace.v1), one ResourceSpans
/// per <see cref="OtlpResource"/> instance, by hand with <see cref="CodedOutputStream"/>: sizes first, then one
/// write into an array of exactly that size.
/// </summary>
public static class OtlpTraceEncoder
{
    // Field numbers of opentelemetry-proto (collector/trace/v1, trace/v1, resource/v1, common/v1).
    private const int RequestResourceSpans = 1;
    private const int ResourceSpansResource = 1, ResourceSpansScopeSpans = 2;
    private const int ResourceAttributes = 1;
    private const int ScopeSpansScope = 1, ScopeSpansSpans = 2;
    private const int ScopeName = 1, ScopeVersion = 2;
    private const int SpanTraceId = 1, SpanSpanId = 2, SpanParentSpanId = 4, SpanName = 5, SpanKind = 6;
    private const int SpanStart = 7, SpanEnd = 8, SpanAttributes = 9, SpanStatus = 15;
    private const int StatusMessage = 2, StatusCode = 3;
    private const int KeyValueKey = 1, KeyValueValue = 2;
    private const int AnyString = 1, AnyBool = 2, AnyInt = 3, AnyDouble = 4;

    /// <summary>
    /// The request for <paramref name="spans"/>, in their order within each resource, resources in the order they
    /// first appear. Throws <see cref="ArgumentException"/> for a span whose <see cref="OtlpSpan.Invalid"/> is not null.
    /// </summary>
    public static byte[] Encode(IReadOnlyList<OtlpSpan> spans, string scopeName, string scopeVersion)
    {
        foreach (var span in spans)
        {
            if (span.Invalid() is { } why)
            {
                throw new ArgumentException($"span '{span.Name}': {why}", nameof(spans));
            }
        }
        return EncodeBatch([.. spans.Select(EncodeSpan)], scopeName, scopeVersion);
    }

    /// <summary>
    /// One span's Span message, made when the span is queued: the queue then holds one small array per span
    /// instead of an object graph that would live (and be traced by the GC) until its batch is sent.
    /// </summary>
    internal static EncodedSpan EncodeSpan(OtlpSpan span)
    {
        var buffer = new byte[SpanSize(span)];
        var output = new CodedOutputStream(buffer);
        WriteSpan(output, span);
        output.Flush();
        output.CheckNoSpaceLeft();
        return new EncodedSpan(span.Resource, buffer);
    }

    /// <summary>The request for spans encoded by <see cref="EncodeSpan"/>, grouped by resource as <see cref="Encode(IReadOnlyList{OtlpSpan}, string, string)"/> does.</summary>
    internal static byte[] EncodeBatch(IReadOnlyList<EncodedSpan> spans, string scopeName, string scopeVersion)
    {
        var layout = new BatchLayout(spans, scopeName, scopeVersion);
        var buffer = new byte[layout.Total];
        layout.WriteRequest(buffer, grpcFrame: false);
        return buffer;
    }

    /// <summary>
    /// The same request in an array rented from <see cref="ArrayPool{T}.Shared"/>, after a gRPC message header when
    /// <paramref name="grpcFrame"/> is set: a batch of a few hundred spans is past the large-object threshold, and a new
    /// array per batch put the large-object heap, and the full collections it triggers, on every export. The caller
    /// returns <see cref="ArraySegment{T}.Array"/> to the pool once it is sent.
    /// </summary>
    internal static ArraySegment<byte> EncodeBatchPooled(IReadOnlyList<EncodedSpan> spans, string scopeName, string scopeVersion, bool grpcFrame)
    {
        var layout = new BatchLayout(spans, scopeName, scopeVersion);
        var buffer = ArrayPool<byte>.Shared.Rent(layout.Total + (grpcFrame ? GrpcHeaderBytes : 0));
        try
        {
            return new ArraySegment<byte>(buffer, 0, layout.WriteRequest(buffer, grpcFrame));
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>The bytes before a gRPC message: a compressed flag and a 32-bit length.</summary>
    internal const int GrpcHeaderBytes = 5;

    /// <summary>A batch's spans grouped by resource, its scope, and the sizes of the messages that hold them.</summary>
    private sealed class BatchLayout
    {
        private readonly List<(OtlpResource Resource, List<EncodedSpan> Spans)> _groups = [];
        private readonly string _scopeName;
        private readonly string _scopeVersion;
        private readonly int[] _scopeSpansSizes;
        private readonly int[] _resourceSpansSizes;
        private readonly int _scopeSize;

        public BatchLayout(IReadOnlyList<EncodedSpan> spans, string scopeName, string scopeVersion)
        {
            _scopeName = scopeName;
            _scopeVersion = scopeVersion;
            var index = new Dictionary<OtlpResource, int>(ReferenceEqualityComparer.Instance);
            foreach (var span in spans)
            {
                if (!index.TryGetValue(span.Resource, out int i))
                {
                    index[span.Resource] = i = _groups.Count;
                    _groups.Add((span.Resource, []));
                }
                _groups[i].Spans.Add(span);
            }
            _scopeSize = StringField(ScopeName, scopeName) + StringField(ScopeVersion, scopeVersion);
            _scopeSpansSizes = new int[_groups.Count];
            _resourceSpansSizes = new int[_groups.Count];
            for (int g = 0; g < _groups.Count; g++)
            {
                int size = Nested(ScopeSpansScope, _scopeSize);
                foreach (var span in _groups[g].Spans)
                {
                    size += Nested(ScopeSpansSpans, span.Bytes.Length);
                }
                _scopeSpansSizes[g] = size;
                _resourceSpansSizes[g] = Nested(ResourceSpansResource, _groups[g].Resource.Encoded.Length) + Nested(ResourceSpansScopeSpans, size);
                Total += Nested(RequestResourceSpans, _resourceSpansSizes[g]);
            }
        }

        /// <summary>The request's size in bytes.</summary>
        public int Total { get; }

        /// <summary>
        /// Writes the request from the start of <paramref name="buffer"/>, after a gRPC message header when
        /// <paramref name="grpcFrame"/> is set, and returns how many bytes that took.
        /// </summary>
        public int WriteRequest(byte[] buffer, bool grpcFrame)
        {
            int length = Total + (grpcFrame ? GrpcHeaderBytes : 0);
            var output = new CodedOutputStream(buffer);
            if (grpcFrame)
            {
                // A gRPC message: an uncompressed flag (0) and the big-endian length of the protobuf bytes after it.
                output.WriteRawTag(0, (byte)(Total >> 24), (byte)(Total >> 16), (byte)(Total >> 8), (byte)Total);
            }
            Write(output);
            output.Flush();
            if (output.Position != length)
            {
                throw new InvalidOperationException($"OTLP batch encoded as {output.Position} bytes, {length} expected");
            }
            return length;
        }

        private void Write(CodedOutputStream output)
        {
            for (int g = 0; g < _groups.Count; g++)
            {
                WriteHeader(output, RequestResourceSpans, _resourceSpansSizes[g]);
                var encodedResource = _groups[g].Resource.Encoded;
                output.WriteTag(ResourceSpansResource, WireType.LengthDelimited);
                output.WriteBytes(UnsafeByteOperations.UnsafeWrap(encodedResource));
                WriteHeader(output, ResourceSpansScopeSpans, _scopeSpansSizes[g]);
                WriteHeader(output, ScopeSpansScope, _scopeSize);
                WriteString(output, ScopeName, _scopeName);
                WriteString(output, ScopeVersion, _scopeVersion);
                foreach (var span in _groups[g].Spans)
                {
                    output.WriteTag(ScopeSpansSpans, WireType.LengthDelimited);
                    output.WriteBytes(UnsafeByteOperations.UnsafeWrap(span.Bytes));
                }
            }
        }
    }

    /// <summary>The Resource message (its attributes) of <paramref name="resource"/>.</summary>
    internal static byte[] EncodeResource(OtlpResource resource)
    {
        int size = AttributesSize(ResourceAttributes, resource.Attributes);
        var buffer = new byte[size];
        var output = new CodedOutputStream(buffer);
        WriteAttributes(output, ResourceAttributes, resource.Attributes);
        output.Flush();
        output.CheckNoSpaceLeft();
        return buffer;
    }

    private static int SpanSize(OtlpSpan span)
    {
        int size = BytesField(SpanTraceId, span.TraceId.Length) + BytesField(SpanSpanId, span.SpanId.Length)
            + StringField(SpanName, span.Name)
            + CodedOutputStream.ComputeTagSize(SpanKind) + CodedOutputStream.ComputeEnumSize((int)span.Kind)
            + 2 * (CodedOutputStream.ComputeTagSize(SpanStart) + 8)
            + AttributesSize(SpanAttributes, span.Attributes);
        if (!span.ParentSpanId.IsEmpty)
        {
            size += BytesField(SpanParentSpanId, span.ParentSpanId.Length);
        }
        if (HasStatus(span))
        {
            size += Nested(SpanStatus, StatusSize(span));
        }
        return size;
    }

    private static void WriteSpan(CodedOutputStream output, OtlpSpan span)
    {
        output.WriteTag(SpanTraceId, WireType.LengthDelimited);
        output.WriteBytes(UnsafeByteOperations.UnsafeWrap(span.TraceId));
        output.WriteTag(SpanSpanId, WireType.LengthDelimited);
        output.WriteBytes(UnsafeByteOperations.UnsafeWrap(span.SpanId));
        if (!span.ParentSpanId.IsEmpty)
        {
            output.WriteTag(SpanParentSpanId, WireType.LengthDelimited);
            output.WriteBytes(UnsafeByteOperations.UnsafeWrap(span.ParentSpanId));
        }
        WriteString(output, SpanName, span.Name);
        output.WriteTag(SpanKind, WireType.Varint);
        output.WriteEnum((int)span.Kind);
        output.WriteTag(SpanStart, WireType.Fixed64);
        output.WriteFixed64((ulong)span.StartUnixNs);
        output.WriteTag(SpanEnd, WireType.Fixed64);
        output.WriteFixed64((ulong)span.EndUnixNs);
        WriteAttributes(output, SpanAttributes, span.Attributes);
        if (HasStatus(span))
        {
            WriteHeader(output, SpanStatus, StatusSize(span));
            if (!string.IsNullOrEmpty(span.StatusMessage))
            {
                WriteString(output, StatusMessage, span.StatusMessage);
            }
            if (span.Status != OtlpStatusCode.Unset)
            {
                output.WriteTag(StatusCode, WireType.Varint);
                output.WriteEnum((int)span.Status);
            }
        }
    }

    private static bool HasStatus(OtlpSpan span) => span.Status != OtlpStatusCode.Unset || !string.IsNullOrEmpty(span.StatusMessage);

    private static int StatusSize(OtlpSpan span) =>
        (string.IsNullOrEmpty(span.StatusMessage) ? 0 : StringField(StatusMessage, span.StatusMessage))
        + (span.Status == OtlpStatusCode.Unset ? 0 : CodedOutputStream.ComputeTagSize(StatusCode) + CodedOutputStream.ComputeEnumSize((int)span.Status));

    private static int AttributesSize(int field, IReadOnlyList<KeyValuePair<string, object>> attributes)
    {
        int size = 0;
        foreach (var (key, value) in attributes)
        {
            if (value is not null)
            {
                size += Nested(field, KeyValueSize(key, AnyValue.Of(value)));
            }
        }
        return size;
    }

    private static void WriteAttributes(CodedOutputStream output, int field, IReadOnlyList<KeyValuePair<string, object>> attributes)
    {
        foreach (var (key, value) in attributes)
        {
            if (value is null)
            {
                continue;
            }
            var any = AnyValue.Of(value);
            WriteHeader(output, field, KeyValueSize(key, any));
            WriteString(output, KeyValueKey, key);
            WriteHeader(output, KeyValueValue, any.Size);
            switch (any.Field)
            {
                case AnyString:
                    WriteString(output, AnyString, any.Text!);
                    break;
                case AnyBool:
                    output.WriteTag(AnyBool, WireType.Varint);
                    output.WriteBool(any.Bool);
                    break;
                case AnyInt:
                    output.WriteTag(AnyInt, WireType.Varint);
                    output.WriteInt64(any.Int);
                    break;
                default:
                    output.WriteTag(AnyDouble, WireType.Fixed64);
                    output.WriteDouble(any.Double);
                    break;
            }
        }
    }

    private static int KeyValueSize(string key, AnyValue any) => StringField(KeyValueKey, key) + Nested(KeyValueValue, any.Size);

    private static int StringField(int field, string value) =>
        CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeStringSize(value);

    private static int BytesField(int field, int length) =>
        CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeLengthSize(length) + length;

    private static int Nested(int field, int size) => BytesField(field, size);

    private static void WriteHeader(CodedOutputStream output, int field, int size)
    {
        output.WriteTag(field, WireType.LengthDelimited);
        output.WriteLength(size);
    }

    private static void WriteString(CodedOutputStream output, int field, string value)
    {
        output.WriteTag(field, WireType.LengthDelimited);
        output.WriteString(value);
    }

    /// <summary>An attribute value as the one AnyValue field it is sent in.</summary>
    private readonly record struct AnyValue(int Field, string? Text, long Int, double Double, bool Bool)
    {
        public static AnyValue Of(object value) => value switch
        {
            string s => new(AnyString, s, 0, 0, false),
            bool b => new(AnyBool, null, 0, 0, b),
            long l => new(AnyInt, null, l, 0, false),
            int i => new(AnyInt, null, i, 0, false),
            uint u => new(AnyInt, null, u, 0, false),
            short h => new(AnyInt, null, h, 0, false),
            ushort h => new(AnyInt, null, h, 0, false),
            byte b => new(AnyInt, null, b, 0, false),
            sbyte b => new(AnyInt, null, b, 0, false),
            ulong u when u <= long.MaxValue => new(AnyInt, null, (long)u, 0, false),
            double d => new(AnyDouble, null, 0, d, false),
            float f => new(AnyDouble, null, 0, f, false),
            // OTLP has no unsigned 64-bit value: a ulong too large for int_value keeps its digits as text.
            IFormattable f => new(AnyString, f.ToString(null, CultureInfo.InvariantCulture), 0, 0, false),
            _ => new(AnyString, value.ToString() ?? "", 0, 0, false),
        };

        public int Size => Field switch
        {
            AnyString => StringField(AnyString, Text!),
            AnyBool => CodedOutputStream.ComputeTagSize(AnyBool) + 1,
            AnyInt => CodedOutputStream.ComputeTagSize(AnyInt) + CodedOutputStream.ComputeInt64Size(Int),
            _ => CodedOutputStream.ComputeTagSize(AnyDouble) + 8,
        };
    }
}

/// <summary>A span's encoded Span message and the resource it is sent under.</summary>
internal readonly record struct EncodedSpan(OtlpResource Resource, byte[] Bytes);
