using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Tattle.Capture.Events;

namespace Tattle.Capture.Bpf;

/// <summary>Turns ring buffer records into source-agnostic events; data records are decoded without allocating.</summary>
public sealed class EventDecoder(ITraceEventSink sink)
{
    private static readonly int HeaderSize = Unsafe.SizeOf<NativeHeader>();
    private static readonly int DataSize = Unsafe.SizeOf<NativeDataEvent>();
    private static readonly int SockSize = Unsafe.SizeOf<NativeSockEvent>();
    private static readonly int CallSize = Unsafe.SizeOf<NativeCallEvent>();
    private static readonly int HttpSize = Unsafe.SizeOf<NativeHttpEvent>();
    private static readonly int ProcFixedSize = (int)Marshal.OffsetOf<NativeProcEvent>(nameof(NativeProcEvent.Filename));

    /// <summary>Records too short for their type (never expected; counted rather than thrown).</summary>
    public long Malformed { get; private set; }

    /// <summary>Decodes one record and passes it on. Returns false for a record it could not read.</summary>
    public bool Dispatch(ReadOnlySpan<byte> record)
    {
        if (record.Length < HeaderSize)
        {
            Malformed++;
            return false;
        }
        uint type = MemoryMarshal.Read<NativeHeader>(record).Type;
        switch (type)
        {
            case NativeEventType.Call when record.Length >= CallSize:
                DispatchCall(record);
                return true;
            case NativeEventType.Data when record.Length >= DataSize:
                DispatchData(record);
                return true;
            case NativeEventType.Http when record.Length >= HttpSize:
                DispatchHttp(record);
                return true;
            case NativeEventType.Fork or NativeEventType.Exec or NativeEventType.Exit when record.Length >= ProcFixedSize:
                DispatchProcess(record, type);
                return true;
            case >= NativeEventType.Socket and <= NativeEventType.TcpState or NativeEventType.Notice when record.Length >= SockSize:
                DispatchSocket(record, type);
                return true;
            default:
                Malformed++;
                return false;
        }
    }

    private void DispatchData(ReadOnlySpan<byte> record)
    {
        ref readonly var d = ref MemoryMarshal.AsRef<NativeDataEvent>(record);
        int payloadLength = (int)Math.Min(d.ChunkLen, (uint)(record.Length - DataSize));
        var e = new DataEvent
        {
            TimestampNs = (long)d.H.TsNs,
            Pid = (int)d.H.Tgid,
            Tid = (int)d.H.Tid,
            Fd = d.Fd,
            Direction = (Direction)d.Dir,
            Flags = (DataFlags)d.Flags,
            SockId = d.Sk,
            Position = d.Pos,
            MessageLength = d.MsgLen,
            ChunkOffset = d.ChunkOff,
            ChunkLength = (uint)payloadLength,
            Syscall = d.Syscall,
            Family = d.Family,
            SockType = d.SockType,
            Peer = ToAddress(in d.Peer),
            TlsSession = d.TlsSession,
            SkipLength = d.SkipLen,
            SocketGeneration = d.Gen,
        };
        sink.OnData(in e, record.Slice(DataSize, payloadLength));
    }

    private unsafe void DispatchHttp(ReadOnlySpan<byte> record)
    {
        ref readonly var h = ref MemoryMarshal.AsRef<NativeHttpEvent>(record);
        int count = Math.Min((int)h.Count, NativeHttpEvent.Batch);
        fixed (NativeHttpEvent* p = &h)
        {
            sink.OnHttpCounts(new HttpCountsEvent
            {
                TimestampNs = (long)h.H.TsNs,
                Pid = (int)h.H.Tgid,
                Fd = h.Fd,
                SockId = h.Sk,
                RequestsReceived = h.ReqDir == 1,
                RequestBytes = h.ReqBytes,
                ResponseBytes = h.RespBytes,
                Local = ToAddress(in h.Local),
                Remote = ToAddress(in h.Remote),
                Head = new ReadOnlySpan<byte>(p->Head, (int)Math.Min(h.HeadLen, (uint)NativeHttpEvent.HeadBytes)),
                Statuses = new ReadOnlySpan<ushort>(p->Status, count),
                LatenciesUs = new ReadOnlySpan<uint>(p->LatencyUs, count),
                StartsNs = new ReadOnlySpan<ulong>(p->StartNs, count),
                RequestLengths = new ReadOnlySpan<uint>(p->ReqLen, count),
                ResponseLengths = new ReadOnlySpan<uint>(p->RespLen, count),
            });
        }
    }

    private unsafe void DispatchCall(ReadOnlySpan<byte> record)
    {
        ref readonly var c = ref MemoryMarshal.AsRef<NativeCallEvent>(record);
        var args = new CallRegisters();
        var captured = new CallCaptureLengths();
        var slots = record[CallSize..];
        fixed (NativeCallEvent* p = &c)
        {
            for (int i = 0; i < CallEvent.MaxArguments; i++)
            {
                args[i] = p->Args[i];
                // A slot the record does not hold (cut short) counts as empty.
                captured[i] = (i + 1) * CallEvent.SlotBytes <= slots.Length ? Math.Min(p->CapLen[i], (ushort)CallEvent.SlotBytes) : (ushort)0;
            }
        }
        sink.OnCall(new CallEvent
        {
            TimestampNs = (long)c.H.TsNs,
            StartNs = (long)c.StartNs,
            Pid = (int)c.H.Tgid,
            Tid = (int)c.H.Tid,
            Cookie = c.Cookie,
            Args = args,
            Ret = c.Ret,
            Captured = captured,
            EntryOnly = (c.Flags & EntryOnlyFlag) != 0,
        }, slots);
    }

    private const uint EntryOnlyFlag = 0x20000; // TATTLE_CALL_ENTRY_ONLY

    private unsafe void DispatchProcess(ReadOnlySpan<byte> record, uint type)
    {
        // Fork and exit records stop before the filename: copy into a zeroed struct rather than read past the end.
        NativeProcEvent p = default;
        NativeProcEvent* ptr = &p;
        record[..Math.Min(record.Length, sizeof(NativeProcEvent))].CopyTo(new Span<byte>(ptr, sizeof(NativeProcEvent)));
        {
            string comm = CString(new ReadOnlySpan<byte>(ptr->Comm, 16));
            long ts = (long)p.H.TsNs;
            int pid = (int)p.H.Tgid;
            switch (type)
            {
                case NativeEventType.Fork:
                    sink.OnFork(new ProcessFork(ts, pid, (int)p.Ppid, p.StartBoottime, comm));
                    break;
                case NativeEventType.Exit:
                    sink.OnExit(new ProcessExit(ts, pid, p.StartBoottime, comm, p.ExitCode));
                    break;
                default:
                    var filename = Encoding.UTF8.GetString(new ReadOnlySpan<byte>(ptr->Filename, (int)Math.Min(p.FilenameLen, 256u)));
                    var argv = SplitArgs(new ReadOnlySpan<byte>(ptr->Args, (int)Math.Min(p.ArgsLen, 1024u)));
                    sink.OnExec(new ProcessExec(ts, pid, (int)p.Ppid, p.StartBoottime, comm, filename, argv));
                    break;
            }
        }
    }

    private unsafe void DispatchSocket(ReadOnlySpan<byte> record, uint type)
    {
        ref readonly var s = ref MemoryMarshal.AsRef<NativeSockEvent>(record);
        string? localPath = null, remotePath = null;
        if (s.Family == NetAddress.AfUnix)
        {
            fixed (NativeSockEvent* ptr = &s)
            {
                localPath = UnixPath(new ReadOnlySpan<byte>(ptr->LocalPath, Math.Min((int)s.LocalPathLen, 108)));
                remotePath = UnixPath(new ReadOnlySpan<byte>(ptr->RemotePath, Math.Min((int)s.RemotePathLen, 108)));
            }
        }
        var e = new SocketEvent
        {
            TimestampNs = (long)s.H.TsNs,
            Pid = (int)s.H.Tgid,
            Tid = (int)s.H.Tid,
            Kind = type switch
            {
                NativeEventType.Socket => SocketEventKind.Socket,
                NativeEventType.Connect => SocketEventKind.Connect,
                NativeEventType.Accept => SocketEventKind.Accept,
                NativeEventType.Bind => SocketEventKind.Bind,
                NativeEventType.Listen => SocketEventKind.Listen,
                NativeEventType.Close => SocketEventKind.Close,
                NativeEventType.Shutdown => SocketEventKind.Shutdown,
                NativeEventType.TcpState => SocketEventKind.TcpState,
                _ => SocketEventKind.Notice,
            },
            Fd = s.Fd,
            Result = s.Ret,
            SockId = s.Sk,
            Family = s.Family,
            SockType = s.Type,
            Protocol = s.Protocol,
            State = (TcpState)s.State,
            Aux = s.Aux,
            BytesSent = s.BytesSent,
            BytesRecv = s.BytesRecv,
            Local = ToAddress(in s.Local),
            Remote = ToAddress(in s.Remote),
            LocalPath = localPath,
            RemotePath = remotePath,
        };
        sink.OnSocket(in e);
    }

    private static unsafe NetAddress ToAddress(in NativeAddr a)
    {
        fixed (NativeAddr* p = &a)
        {
            return NetAddress.FromNative(a.Family, a.Port, new ReadOnlySpan<byte>(p->Addr, 16));
        }
    }

    private static string CString(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }

    /// <summary>A Unix socket name: empty means unnamed; a leading NUL marks the abstract namespace ("@name").</summary>
    private static string? UnixPath(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return null;
        }
        if (bytes[0] == 0)
        {
            return "@" + Encoding.UTF8.GetString(bytes[1..]).TrimEnd('\0');
        }
        return CString(bytes);
    }

    private static List<string> SplitArgs(ReadOnlySpan<byte> args)
    {
        var list = new List<string>();
        while (!args.IsEmpty)
        {
            int end = args.IndexOf((byte)0);
            var arg = end < 0 ? args : args[..end];
            list.Add(Encoding.UTF8.GetString(arg));
            if (end < 0)
            {
                break;
            }
            args = args[(end + 1)..];
        }
        return list;
    }
}
