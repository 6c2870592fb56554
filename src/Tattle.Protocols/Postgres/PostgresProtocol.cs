using System.Buffers.Binary;
using Tattle.Protocols.Common;

namespace Tattle.Protocols.Postgres;

/// <summary>The PostgreSQL frontend/backend protocol 3.0: how to recognise it and how to make a parser (see README.md).</summary>
public static class PostgresProtocol
{
    public const int Port = 5432;

    /// <summary>StartupMessage's protocol version 3.0, SSLRequest's and GSSENCRequest's codes (protocol §55.7).</summary>
    public const int Version3 = 196608;
    public const int SslRequestCode = 80877103;
    public const int GssEncRequestCode = 80877104;
    public const int CancelRequestCode = 80877102;

    /// <summary>The longest startup packet the server accepts (MAX_STARTUP_PACKET_LENGTH).</summary>
    public const int MaxStartup = 10000;

    public static ProtocolInfo Info { get; } = new("postgresql", Probe, (options, sink) => new PostgresParser(options, sink))
    {
        Aliases = ["postgres", "pg"],
    };

    /// <summary>
    /// A client's StartupMessage, SSLRequest or GSSENCRequest (8 bytes decide) means requests. For a connection
    /// joined mid-way: two whole backend messages in a row, of known types, including a ReadyForQuery, mean
    /// responses; a whole simple Query with port 5432 at an end means requests. Port 5432 alone claims nothing.
    /// </summary>
    public static Detection Probe(ReadOnlySpan<byte> data, bool datagram, int localPort, int remotePort)
    {
        if (datagram || data.IsEmpty)
        {
            return Detection.No;
        }
        if (data[0] == 0)
        {
            return ProbeStartup(data);
        }
        bool port = localPort == Port || remotePort == Port;
        if (port && data[0] == (byte)'Q')
        {
            return ProbeQuery(data);
        }
        return ProbeBackend(data);
    }

    private static Detection ProbeStartup(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8)
        {
            return data.Length < 2 || data[1] == 0 ? Detection.NeedMoreData : Detection.No;
        }
        int length = BinaryPrimitives.ReadInt32BigEndian(data);
        int code = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
        return code switch
        {
            SslRequestCode or GssEncRequestCode when length == 8 => Detection.Request,
            Version3 when length is > 8 and <= MaxStartup => Detection.Request,
            _ => Detection.No,
        };
    }

    private static Detection ProbeQuery(ReadOnlySpan<byte> data)
    {
        if (data.Length < 5)
        {
            return Detection.NeedMoreData;
        }
        int length = BinaryPrimitives.ReadInt32BigEndian(data[1..]);
        if (length < 5 || length > PostgresParser.MaxMessage)
        {
            return Detection.No;
        }
        if (data.Length < length + 1)
        {
            return Detection.NeedMoreData;
        }
        var text = data.Slice(5, length - 4);
        return text[^1] == 0 && text[..^1].IndexOf((byte)0) < 0 ? Detection.Request : Detection.No;
    }

    private static Detection ProbeBackend(ReadOnlySpan<byte> data)
    {
        int pos = 0;
        int whole = 0;
        bool ready = false;
        while (whole < 8)
        {
            if (whole >= 2 && ready)
            {
                return Detection.Response;
            }
            var rest = data[pos..];
            if (rest.IsEmpty)
            {
                return Detection.NeedMoreData;
            }
            if (!PostgresWire.IsBackendType(rest[0]))
            {
                return Detection.No;
            }
            if (rest.Length < 5)
            {
                return Detection.NeedMoreData;
            }
            int length = BinaryPrimitives.ReadInt32BigEndian(rest[1..]);
            if (length < 4 || length > PostgresParser.MaxMessage)
            {
                return Detection.No;
            }
            if (rest[0] == (byte)'Z')
            {
                if (length != 5)
                {
                    return Detection.No;
                }
                if (rest.Length < 6)
                {
                    return Detection.NeedMoreData;
                }
                if (rest[5] is not ((byte)'I' or (byte)'T' or (byte)'E'))
                {
                    return Detection.No;
                }
                ready = true;
            }
            if (rest.Length < length + 1)
            {
                return Detection.NeedMoreData;
            }
            pos += length + 1;
            whole++;
        }
        return Detection.No;
    }
}
