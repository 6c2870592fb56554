using Google.Protobuf;
using static Google.Protobuf.WireFormat;

namespace Tattle.Output.Otlp;

/// <summary>What a collector answers: an ExportTraceServiceResponse, or a google.rpc.Status when it refuses.</summary>
internal static class OtlpResponses
{
    /// <summary>
    /// ExportTraceServiceResponse{1 partial_success: ExportTracePartialSuccess{1 rejected_spans, 2 error_message}}:
    /// the spans the collector took the request for but dropped, and why. A body that does not parse is no partial success.
    /// </summary>
    public static (long Rejected, string? Message) PartialSuccess(byte[] body, int offset, int length)
    {
        try
        {
            var input = new CodedInputStream(body, offset, length);
            long rejected = 0;
            string? message = null;
            while (input.ReadTag() is var tag and not 0)
            {
                if (tag == MakeTag(1, WireType.LengthDelimited))
                {
                    var partial = input.ReadBytes().CreateCodedInput();
                    while (partial.ReadTag() is var inner and not 0)
                    {
                        if (inner == MakeTag(1, WireType.Varint))
                        {
                            rejected = partial.ReadInt64();
                        }
                        else if (inner == MakeTag(2, WireType.LengthDelimited))
                        {
                            message = partial.ReadString();
                        }
                        else
                        {
                            partial.SkipLastField();
                        }
                    }
                }
                else
                {
                    input.SkipLastField();
                }
            }
            return (rejected, string.IsNullOrEmpty(message) ? null : message);
        }
        catch (InvalidProtocolBufferException)
        {
            return (0, null);
        }
    }

    /// <summary>google.rpc.Status{1 code, 2 message}'s message, the error body of OTLP/HTTP; null when there is none.</summary>
    public static string? StatusMessage(byte[] body)
    {
        try
        {
            var input = new CodedInputStream(body);
            while (input.ReadTag() is var tag and not 0)
            {
                if (tag == MakeTag(2, WireType.LengthDelimited))
                {
                    return input.ReadString();
                }
                input.SkipLastField();
            }
        }
        catch (InvalidProtocolBufferException)
        {
        }
        return null;
    }
}
