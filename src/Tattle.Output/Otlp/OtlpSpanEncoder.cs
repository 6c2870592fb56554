using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Tattle.Output.Otlp;

/// <summary>
/// One span's Span message, or a resource's Resource message: every attribute's value classified and every string's
/// UTF-8 length found once, the sizes summed, then one pass writes an array of exactly that size. The agent encodes a
/// span per traced request, and sizing with <c>CodedOutputStream</c> measured each string three times.
/// </summary>
internal sealed class OtlpSpanEncoder
{
    // Field numbers of opentelemetry-proto (trace/v1, resource/v1, common/v1).
    private const int SpanTraceId = 1, SpanSpanId = 2, SpanParentSpanId = 4, SpanName = 5, SpanKind = 6;
    private const int SpanStart = 7, SpanEnd = 8, SpanAttributes = 9, SpanStatus = 15;
    private const int StatusMessage = 2, StatusCode = 3;
    private const int ResourceAttributes = 1;
    private const int KeyValueKey = 1, KeyValueValue = 2;
    private const int AnyString = 1, AnyBool = 2, AnyInt = 3, AnyDouble = 4;

    [ThreadStatic]
    private static OtlpSpanEncoder? t_encoder;

    private Attribute[] _attributes = new Attribute[16];
    private int _count;
    private readonly RecentStrings _strings = new();

    /// <summary>The encoder of the calling thread: spans may be queued from any thread.</summary>
    public static OtlpSpanEncoder Current => t_encoder ??= new();

    public byte[] EncodeSpan(OtlpSpan span)
    {
        int attributesSize = Plan(SpanAttributes, span.Attributes);
        try
        {
            byte[]? nameUtf8 = _strings.Utf8(span.Name);
            int nameLength = nameUtf8?.Length ?? Encoding.UTF8.GetByteCount(span.Name);
            bool hasMessage = !string.IsNullOrEmpty(span.StatusMessage);
            int messageLength = hasMessage ? Encoding.UTF8.GetByteCount(span.StatusMessage!) : 0;
            bool hasCode = span.Status != OtlpStatusCode.Unset;
            int statusSize = (hasMessage ? ProtoWire.FieldSize(StatusMessage, messageLength) : 0)
                + (hasCode ? ProtoWire.VarintFieldSize(StatusCode, (int)span.Status) : 0);
            int size = ProtoWire.FieldSize(SpanTraceId, span.TraceId.Length) + ProtoWire.FieldSize(SpanSpanId, span.SpanId.Length)
                + (span.ParentSpanId.IsEmpty ? 0 : ProtoWire.FieldSize(SpanParentSpanId, span.ParentSpanId.Length))
                + ProtoWire.FieldSize(SpanName, nameLength)
                + ProtoWire.VarintFieldSize(SpanKind, (int)span.Kind)
                + (2 * ProtoWire.Fixed64FieldSize(SpanStart))
                + attributesSize
                + (hasMessage || hasCode ? ProtoWire.FieldSize(SpanStatus, statusSize) : 0);

            var buffer = GC.AllocateUninitializedArray<byte>(size);
            var wire = new ProtoWire(buffer);
            wire.Bytes(SpanTraceId, span.TraceId.Span);
            wire.Bytes(SpanSpanId, span.SpanId.Span);
            if (!span.ParentSpanId.IsEmpty)
            {
                wire.Bytes(SpanParentSpanId, span.ParentSpanId.Span);
            }
            wire.String(SpanName, span.Name, nameUtf8, nameLength);
            wire.VarintField(SpanKind, (int)span.Kind);
            wire.Fixed64Field(SpanStart, (ulong)span.StartUnixNs);
            wire.Fixed64Field(SpanEnd, (ulong)span.EndUnixNs);
            WriteAttributes(ref wire, SpanAttributes);
            if (hasMessage || hasCode)
            {
                wire.Header(SpanStatus, statusSize);
                if (hasMessage)
                {
                    wire.String(StatusMessage, span.StatusMessage!, messageLength);
                }
                if (hasCode)
                {
                    wire.VarintField(StatusCode, (int)span.Status);
                }
            }
            return Checked(buffer, wire.Position);
        }
        finally
        {
            Release();
        }
    }

    /// <summary>The Resource message: its attributes.</summary>
    public byte[] EncodeResource(OtlpResource resource)
    {
        int size = Plan(ResourceAttributes, resource.Attributes);
        try
        {
            var buffer = GC.AllocateUninitializedArray<byte>(size);
            var wire = new ProtoWire(buffer);
            WriteAttributes(ref wire, ResourceAttributes);
            return Checked(buffer, wire.Position);
        }
        finally
        {
            Release();
        }
    }

    private static byte[] Checked(byte[] buffer, int written) =>
        written == buffer.Length ? buffer : throw new InvalidOperationException($"OTLP message encoded as {written} bytes, {buffer.Length} expected");

    /// <summary>Classifies and sizes each attribute with a value; returns the bytes they take as <paramref name="field"/>.</summary>
    private int Plan(int field, IReadOnlyList<KeyValuePair<string, object>> attributes)
    {
        if (_attributes.Length < attributes.Count)
        {
            _attributes = new Attribute[Math.Max(attributes.Count, _attributes.Length * 2)];
        }
        int total = 0;
        _count = 0;
        // By index: a foreach over the interface would box the list's enumerator, an object per span.
        for (int i = 0; i < attributes.Count; i++)
        {
            var (key, value) = attributes[i];
            if (value is null)
            {
                continue;
            }
            ref var a = ref _attributes[_count++];
            Attribute.Fill(ref a, key, value, _strings);
            total += ProtoWire.FieldSize(field, a.KeyValueSize);
        }
        return total;
    }

    private void WriteAttributes(ref ProtoWire wire, int field)
    {
        for (int i = 0; i < _count; i++)
        {
            ref var a = ref _attributes[i];
            wire.Header(field, a.KeyValueSize);
            wire.String(KeyValueKey, a.Key, a.KeyUtf8, a.KeyLength);
            wire.Header(KeyValueValue, a.ValueSize);
            switch (a.Field)
            {
                case AnyString:
                    wire.String(AnyString, a.Text!, a.TextUtf8, a.TextLength);
                    break;
                case AnyDouble:
                    wire.Fixed64Field(AnyDouble, a.Bits);
                    break;
                default:
                    wire.VarintField(a.Field, (long)a.Bits);
                    break;
            }
        }
    }

    // The planned attributes hold their strings until the next span: let a long URL go now.
    private void Release()
    {
        Array.Clear(_attributes, 0, _count);
        _count = 0;
    }

    /// <summary>An attribute as the one AnyValue field it is sent in, with the sizes of its KeyValue message.</summary>
    private struct Attribute
    {
        public string Key;
        public int KeyLength;
        // A recurring string's UTF-8, kept from an earlier span; null when it is to be transcoded.
        public byte[]? KeyUtf8;
        public int Field;
        public string? Text;
        public int TextLength;
        public byte[]? TextUtf8;
        // An int64's two's complement, a bool's 0 or 1, a double's IEEE bits.
        public ulong Bits;
        public int ValueSize;
        public int KeyValueSize;

        /// <summary>
        /// Fills <paramref name="a"/> in place: a struct holding references copied into the array would cost a
        /// write-barrier copy per attribute.
        /// </summary>
        public static void Fill(ref Attribute a, string key, object value, RecentStrings strings)
        {
            a.Key = key;
            a.KeyUtf8 = strings.Utf8(key);
            a.KeyLength = a.KeyUtf8?.Length ?? Encoding.UTF8.GetByteCount(key);
            a.Text = null;
            a.TextUtf8 = null;
            a.Bits = 0;
            if (value is string text)
            {
                Textual(ref a, text, strings.Utf8(text));
            }
            else if (AsNumber(value) is var (field, bits))
            {
                Number(ref a, field, bits);
            }
            else
            {
                // OTLP has no unsigned 64-bit value: a ulong too large for int_value keeps its digits as text.
                Textual(ref a, value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : value.ToString() ?? "", null);
            }
            a.KeyValueSize = ProtoWire.FieldSize(KeyValueKey, a.KeyLength) + ProtoWire.FieldSize(KeyValueValue, a.ValueSize);
        }

        /// <summary>The AnyValue field and bits of a bool, an integer that fits an int64, or a floating-point value.</summary>
        private static (int Field, ulong Bits)? AsNumber(object value) => value switch
        {
            bool b => (AnyBool, b ? 1UL : 0),
            long l => (AnyInt, (ulong)l),
            int i => (AnyInt, (ulong)(long)i),
            uint u => (AnyInt, u),
            short h => (AnyInt, (ulong)(long)h),
            ushort h => (AnyInt, h),
            byte b => (AnyInt, b),
            sbyte b => (AnyInt, (ulong)(long)b),
            ulong u when u <= long.MaxValue => (AnyInt, u),
            double d => (AnyDouble, BitConverter.DoubleToUInt64Bits(d)),
            float f => (AnyDouble, BitConverter.DoubleToUInt64Bits(f)),
            _ => null,
        };

        private static void Textual(ref Attribute a, string text, byte[]? utf8)
        {
            a.Field = AnyString;
            a.Text = text;
            a.TextUtf8 = utf8;
            a.TextLength = utf8?.Length ?? Encoding.UTF8.GetByteCount(text);
            a.ValueSize = ProtoWire.FieldSize(AnyString, a.TextLength);
        }

        private static void Number(ref Attribute a, int field, ulong bits)
        {
            a.Field = field;
            a.Bits = bits;
            a.ValueSize = field == AnyDouble ? ProtoWire.Fixed64FieldSize(AnyDouble) : ProtoWire.VarintFieldSize(field, (long)bits);
        }
    }

    /// <summary>
    /// The UTF-8 of strings seen again as the same instance: attribute keys, and the values a keep-alive connection's
    /// records repeat (its method, path, peer address and connection id). A direct-mapped table by identity: a string
    /// is kept on its second sighting, so one-off values (a path with an id in it) cost no array.
    /// </summary>
    internal sealed class RecentStrings
    {
        private const int Slots = 256, MaxChars = 256;
        private readonly string?[] _seen = new string?[Slots];
        private readonly byte[]?[] _utf8 = new byte[]?[Slots];

        public byte[]? Utf8(string text)
        {
            if (text.Length > MaxChars)
            {
                return null;
            }
            int slot = RuntimeHelpers.GetHashCode(text) & (Slots - 1);
            if (ReferenceEquals(_seen[slot], text))
            {
                return _utf8[slot] ??= Encoding.UTF8.GetBytes(text);
            }
            _seen[slot] = text;
            _utf8[slot] = null;
            return null;
        }
    }
}
