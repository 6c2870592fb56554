using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Tattle.Output.Otlp;

/// <summary>
/// Encodes spans as an OTLP ExportTraceServiceRequest (opentelemetry.proto.collector.trace.v1), one ResourceSpans
/// per <see cref="OtlpResource"/> instance, by hand: each span by <see cref="OtlpSpanEncoder"/> when it is queued, then
/// the request around them, sizes first, then one write into an array of exactly that size.
/// </summary>
public static class OtlpTraceEncoder
{
    // Field numbers of opentelemetry-proto (collector/trace/v1, trace/v1, resource/v1, common/v1).
    private const int RequestResourceSpans = 1;
    private const int ResourceSpansResource = 1, ResourceSpansScopeSpans = 2;
    private const int ScopeSpansScope = 1, ScopeSpansSpans = 2;
    private const int ScopeName = 1, ScopeVersion = 2;

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
    internal static EncodedSpan EncodeSpan(OtlpSpan span) => new(span.Resource, OtlpSpanEncoder.Current.EncodeSpan(span));

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
        // The InstrumentationScope message, the same in every ScopeSpans of the batch: encoded once.
        private readonly byte[] _scope;
        private readonly int[] _scopeSpansSizes;
        private readonly int[] _resourceSpansSizes;

        public BatchLayout(IReadOnlyList<EncodedSpan> spans, string scopeName, string scopeVersion)
        {
            _scope = EncodeScope(scopeName, scopeVersion);
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
            _scopeSpansSizes = new int[_groups.Count];
            _resourceSpansSizes = new int[_groups.Count];
            for (int g = 0; g < _groups.Count; g++)
            {
                int size = Nested(ScopeSpansScope, _scope.Length);
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
            int start = 0;
            if (grpcFrame)
            {
                // A gRPC message: an uncompressed flag (0) and the big-endian length of the protobuf bytes after it.
                buffer[0] = 0;
                BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(1), Total);
                start = GrpcHeaderBytes;
            }
            var wire = new ProtoWire(buffer.AsSpan(start, Total));
            Write(ref wire);
            if (start + wire.Position != length)
            {
                throw new InvalidOperationException($"OTLP batch encoded as {start + wire.Position} bytes, {length} expected");
            }
            return length;
        }

        private void Write(ref ProtoWire wire)
        {
            for (int g = 0; g < _groups.Count; g++)
            {
                wire.Header(RequestResourceSpans, _resourceSpansSizes[g]);
                wire.Bytes(ResourceSpansResource, _groups[g].Resource.Encoded);
                wire.Header(ResourceSpansScopeSpans, _scopeSpansSizes[g]);
                wire.Bytes(ScopeSpansScope, _scope);
                foreach (var span in _groups[g].Spans)
                {
                    wire.Bytes(ScopeSpansSpans, span.Bytes);
                }
            }
        }
    }

    private static byte[] EncodeScope(string name, string version)
    {
        int nameLength = Encoding.UTF8.GetByteCount(name), versionLength = Encoding.UTF8.GetByteCount(version);
        var scope = new byte[ProtoWire.FieldSize(ScopeName, nameLength) + ProtoWire.FieldSize(ScopeVersion, versionLength)];
        var wire = new ProtoWire(scope);
        wire.String(ScopeName, name, nameLength);
        wire.String(ScopeVersion, version, versionLength);
        return scope;
    }

    private static int Nested(int field, int size) => ProtoWire.FieldSize(field, size);
}

/// <summary>A span's encoded Span message and the resource it is sent under.</summary>
internal readonly record struct EncodedSpan(OtlpResource Resource, byte[] Bytes);
