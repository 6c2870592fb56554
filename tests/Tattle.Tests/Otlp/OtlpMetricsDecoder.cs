using Google.Protobuf;
using static Tattle.Tests.Otlp.OtlpTraceDecoder;

namespace Tattle.Tests.Otlp;

/// <summary>Which of Metric's data fields a metric had.</summary>
public enum DecodedMetricKind
{
    Unknown,
    Gauge,
    Sum,
    Histogram,
}

/// <summary>One data point: a gauge's or sum's value (as_double or as_int), or a histogram's count, sum and buckets.</summary>
public sealed record DecodedPoint(
    IReadOnlyDictionary<string, object> Attributes, ulong TimeUnixNs, double? AsDouble, long? AsInt,
    ulong Count, double? Sum, IReadOnlyList<ulong> BucketCounts, IReadOnlyList<double> ExplicitBounds)
{
    /// <summary>A number point's value, whichever field carried it.</summary>
    public double Value => AsDouble ?? AsInt ?? 0;
}

/// <summary>A Metric as the decoder read it, with its resource's attributes.</summary>
public sealed record DecodedMetric(
    IReadOnlyDictionary<string, object> Resource, string Scope, string Name, string Description, string Unit,
    DecodedMetricKind Kind, int Temporality, bool IsMonotonic, IReadOnlyList<DecodedPoint> Points);

/// <summary>
/// Reads an ExportMetricsServiceRequest far enough for tests: metric names, kinds and each point's attributes and
/// value; unknown fields (exemplars, exponential histograms, summaries) are skipped.
/// </summary>
public static class OtlpMetricsDecoder
{
    public static bool TryDecode(byte[] request, out List<DecodedMetric> metrics, out string? error) =>
        TryRead(() => Repeated(request, 1).SelectMany(ResourceMetrics).ToList(), out metrics, out error);

    /// <summary>The request's metrics; throws (fails the test) when it does not parse.</summary>
    public static List<DecodedMetric> Metrics(byte[] request) =>
        TryDecode(request, out var metrics, out var error) ? metrics : throw new InvalidDataException($"not an ExportMetricsServiceRequest: {error}");

    private static IEnumerable<DecodedMetric> ResourceMetrics(ByteString bytes)
    {
        var (resource, scopeMetrics) = Container(bytes);
        var attributes = Resource(resource);
        foreach (var one in scopeMetrics)
        {
            var (scope, metrics) = Container(one);
            string name = Scope(scope).Name;
            foreach (var metric in metrics)
            {
                yield return Metric(metric, attributes, name);
            }
        }
    }

    private static DecodedMetric Metric(ByteString bytes, Dictionary<string, object> resource, string scope)
    {
        string name = "", description = "", unit = "";
        var kind = DecodedMetricKind.Unknown;
        int temporality = 0;
        bool monotonic = false;
        var points = new List<DecodedPoint>();
        Fields(bytes, (tag, input) =>
        {
            switch (tag)
            {
                case 1 << 3 | Len: name = input.ReadString(); return true;
                case 2 << 3 | Len: description = input.ReadString(); return true;
                case 3 << 3 | Len: unit = input.ReadString(); return true;
                case 5 << 3 | Len:
                case 7 << 3 | Len:
                case 9 << 3 | Len:
                    kind = (tag >> 3) switch { 5 => DecodedMetricKind.Gauge, 7 => DecodedMetricKind.Sum, _ => DecodedMetricKind.Histogram };
                    // Gauge, Sum and Histogram: 1 data_points, 2 aggregation_temporality, 3 is_monotonic (Sum).
                    Fields(input.ReadBytes(), (t, data) =>
                    {
                        switch (t)
                        {
                            case 1 << 3 | Len:
                                points.Add(kind == DecodedMetricKind.Histogram ? HistogramPoint(data.ReadBytes()) : NumberPoint(data.ReadBytes()));
                                return true;
                            case 2 << 3: temporality = data.ReadEnum(); return true;
                            case 3 << 3: monotonic = data.ReadBool(); return true;
                            default: return false;
                        }
                    });
                    return true;
                default:
                    return false;
            }
        });
        return new DecodedMetric(resource, scope, name, description, unit, kind, temporality, monotonic, points);
    }

    /// <summary>NumberDataPoint{7 attributes, 3 time, 4 as_double, 6 as_int (sfixed64)}.</summary>
    private static DecodedPoint NumberPoint(ByteString bytes)
    {
        var attributes = new Dictionary<string, object>();
        ulong time = 0;
        double? asDouble = null;
        long? asInt = null;
        Fields(bytes, (tag, input) =>
        {
            switch (tag)
            {
                case 7 << 3 | Len: AddKeyValue(attributes, input.ReadBytes()); return true;
                case 3 << 3 | Fixed64: time = input.ReadFixed64(); return true;
                case 4 << 3 | Fixed64: asDouble = input.ReadDouble(); return true;
                case 6 << 3 | Fixed64: asInt = input.ReadSFixed64(); return true;
                default: return false;
            }
        });
        return new DecodedPoint(attributes, time, asDouble, asInt, 0, null, [], []);
    }

    /// <summary>HistogramDataPoint{9 attributes, 3 time, 4 count, 5 sum, 6 bucket_counts, 7 explicit_bounds}, packed or not.</summary>
    private static DecodedPoint HistogramPoint(ByteString bytes)
    {
        var attributes = new Dictionary<string, object>();
        ulong time = 0, count = 0;
        double? sum = null;
        var buckets = new List<ulong>();
        var bounds = new List<double>();
        Fields(bytes, (tag, input) =>
        {
            switch (tag)
            {
                case 9 << 3 | Len: AddKeyValue(attributes, input.ReadBytes()); return true;
                case 3 << 3 | Fixed64: time = input.ReadFixed64(); return true;
                case 4 << 3 | Fixed64: count = input.ReadFixed64(); return true;
                case 5 << 3 | Fixed64: sum = input.ReadDouble(); return true;
                case 6 << 3 | Fixed64: buckets.Add(input.ReadFixed64()); return true;
                case 7 << 3 | Fixed64: bounds.Add(input.ReadDouble()); return true;
                case 6 << 3 | Len: Packed(input, buckets, i => i.ReadFixed64()); return true;
                case 7 << 3 | Len: Packed(input, bounds, i => i.ReadDouble()); return true;
                default: return false;
            }
        });
        return new DecodedPoint(attributes, time, null, null, count, sum, buckets, bounds);
    }

    private static void Packed<T>(CodedInputStream input, List<T> into, Func<CodedInputStream, T> read)
    {
        var packed = input.ReadBytes().CreateCodedInput();
        while (!packed.IsAtEnd)
        {
            into.Add(read(packed));
        }
    }
}
