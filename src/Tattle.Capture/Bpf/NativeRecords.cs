using System.Runtime.InteropServices;

namespace Tattle.Capture.Bpf;

// Mirrors of the structs in bpf/tattle.h. A test compiles that header with the host C compiler and compares
// sizeof/offsetof with these declarations, so a change on one side only fails the build's tests.

/// <summary>struct tattle_config: the kernel side's .rodata, set before load.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeConfig
{
    public uint Snaplen;
    public uint SelfTgid;
    public ulong WakeupBytes;
    public uint Flags;
    public uint Pad;
}

/// <summary>struct tattle_exe_key.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeExeKey
{
    public ulong Ino;
    public uint Dev;
    public uint Pad;
}

/// <summary>struct tattle_hdr.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeHeader
{
    public ulong TsNs;
    public uint Type;
    public uint Tgid;
    public uint Tid;
    public uint Cpu;
}

/// <summary>struct tattle_addr.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeAddr
{
    public ushort Family;
    public ushort Port;
    public fixed byte Addr[16];
}

/// <summary>struct tattle_proc_event (fork and exit records stop at Filename).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeProcEvent
{
    public NativeHeader H;
    public uint Ppid;
    public int ExitCode;
    public ulong StartBoottime;
    public fixed byte Comm[16];
    public uint FilenameLen;
    public uint ArgsLen;
    public fixed byte Filename[256];
    public fixed byte Args[1024];
}

/// <summary>struct tattle_sock_event.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeSockEvent
{
    public NativeHeader H;
    public int Fd;
    public int Ret;
    public ulong Sk;
    public ushort Family;
    public ushort Type;
    public ushort Protocol;
    public ushort State;
    public int Aux;
    public ushort LocalPathLen;
    public ushort RemotePathLen;
    public ulong BytesSent;
    public ulong BytesRecv;
    public NativeAddr Local;
    public NativeAddr Remote;
    public fixed byte LocalPath[108];
    public fixed byte RemotePath[108];
}

/// <summary>struct tattle_data_event; ChunkLen payload bytes follow it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeDataEvent
{
    public NativeHeader H;
    public int Fd;
    public ushort Dir;
    public ushort Flags;
    public ulong Sk;
    public ulong Pos;
    public uint MsgLen;
    public uint ChunkOff;
    public uint ChunkLen;
    public ushort Syscall;
    public ushort Family;
    public NativeAddr Peer;
    public ushort SockType;
    public ushort Pad;
    public ulong TlsSession;
    public uint SkipLen;
    public uint Gen;
}

/// <summary>struct tattle_http_event: up to <see cref="Batch"/> HTTP/1 requests counted in the kernel.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeHttpEvent
{
    public const int Batch = 32; // TATTLE_HTTP_BATCH
    public const int HeadBytes = 96; // TATTLE_HTTP_HEAD

    public NativeHeader H;
    public int Fd;
    public ushort ReqDir;
    public ushort Count;
    public ulong Sk;
    public ulong ReqBytes;
    public ulong RespBytes;
    public uint HeadLen;
    public uint Pad;
    public NativeAddr Local;
    public NativeAddr Remote;
    public fixed byte Head[HeadBytes];
    public fixed uint LatencyUs[Batch];
    public fixed ushort Status[Batch];
    public fixed ulong StartNs[Batch];
    public fixed uint ReqLen[Batch];
    public fixed uint RespLen[Batch];
}

/// <summary>struct tattle_call_event; argument slots of TATTLE_CALL_CAPTURE bytes follow it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeCallEvent
{
    public const int Arguments = 6;
    public const int SlotBytes = 256;

    public NativeHeader H;
    public ulong StartNs;
    public ulong Cookie;
    public fixed ulong Args[Arguments];
    public ulong Ret;
    public fixed ushort CapLen[Arguments];
    public uint Flags;
}

/// <summary>struct tattle_usdt_arg.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeUsdtArg
{
    public long Val;
    public short RegOff;
    public byte Kind;
    public byte Size;
    public byte IsSigned;
    private byte _pad0;
    private byte _pad1;
    private byte _pad2;
}

/// <summary>struct tattle_usdt_spec: the arguments, then their count.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeUsdtSpec
{
    public const int Arguments = 6;

    private UsdtArgs _args;
    public uint NArgs;
    private uint _pad;

    public NativeUsdtArg this[int i]
    {
        readonly get => _args[i];
        set => _args[i] = value;
    }

    [System.Runtime.CompilerServices.InlineArray(Arguments)]
    private struct UsdtArgs
    {
        private NativeUsdtArg _first;
    }
}

/// <summary>enum tattle_event_type.</summary>
internal static class NativeEventType
{
    public const uint Fork = 1;
    public const uint Exec = 2;
    public const uint Exit = 3;
    public const uint Socket = 10;
    public const uint Connect = 11;
    public const uint Accept = 12;
    public const uint Bind = 13;
    public const uint Listen = 14;
    public const uint Close = 15;
    public const uint Shutdown = 16;
    public const uint TcpState = 17;
    public const uint Data = 20;
    public const uint Http = 21;
    public const uint Notice = 30;
    public const uint Call = 40;
}

/// <summary>struct tattle_body_skip: where the body being read in each direction ends (body_skips map).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeBodySkip
{
    public fixed ulong End[2];
    public uint Gen;
    public uint Wake;
}

/// <summary>struct tattle_spawn.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeSpawn
{
    public uint Type; // NativeEventType.Fork or .Exec
    public uint Pid;
    public uint ParentPid;
    public uint Pad;
}
