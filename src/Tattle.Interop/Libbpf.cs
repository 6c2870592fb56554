using System.Runtime.InteropServices;

namespace Tattle.Interop;

/// <summary>
/// Declarations of the libbpf 1.1 API Tattle uses (Debian bookworm's libbpf1). No NuGet binding exists.
/// Pointer-returning calls return NULL and set errno; int-returning calls return -errno.
/// </summary>
public static unsafe partial class Libbpf
{
    public const string Library = "libbpf.so.1";

    public enum PrintLevel
    {
        Warn = 0,
        Info = 1,
        Debug = 2,
    }

    /// <summary>struct bpf_object_open_opts, up to object_name (libbpf accepts an older, shorter struct).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ObjectOpenOptions
    {
        public nuint Size;
        public byte* ObjectName;
    }

    /// <summary>struct bpf_uprobe_opts (libbpf 1.1).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct UprobeOptions
    {
        public nuint Size;
        public nuint RefCtrOffset;
        public ulong BpfCookie;
        public byte Retprobe;
        public nuint FuncName;
        public nuint _tail;
    }

    [LibraryImport(Library, EntryPoint = "libbpf_set_print")]
    public static partial IntPtr SetPrint(delegate* unmanaged[Cdecl]<PrintLevel, byte*, IntPtr, int> fn);

    [LibraryImport(Library, EntryPoint = "bpf_object__open_mem", SetLastError = true)]
    public static partial IntPtr ObjectOpenMem(void* buffer, nuint size, ObjectOpenOptions* options);

    [LibraryImport(Library, EntryPoint = "bpf_object__load")]
    public static partial int ObjectLoad(IntPtr obj);

    [LibraryImport(Library, EntryPoint = "bpf_object__close")]
    public static partial void ObjectClose(IntPtr obj);

    [LibraryImport(Library, EntryPoint = "bpf_object__find_map_by_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr FindMapByName(IntPtr obj, string name);

    [LibraryImport(Library, EntryPoint = "bpf_object__find_program_by_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr FindProgramByName(IntPtr obj, string name);

    [LibraryImport(Library, EntryPoint = "bpf_object__next_program")]
    public static partial IntPtr NextProgram(IntPtr obj, IntPtr previous);

    [LibraryImport(Library, EntryPoint = "bpf_program__name")]
    public static partial byte* ProgramName(IntPtr prog);

    [LibraryImport(Library, EntryPoint = "bpf_program__section_name")]
    public static partial byte* ProgramSectionName(IntPtr prog);

    [LibraryImport(Library, EntryPoint = "bpf_program__set_autoload")]
    public static partial int ProgramSetAutoload(IntPtr prog, [MarshalAs(UnmanagedType.U1)] bool autoload);

    [LibraryImport(Library, EntryPoint = "bpf_program__set_expected_attach_type")]
    public static partial int ProgramSetExpectedAttachType(IntPtr prog, int type);

    [LibraryImport(Library, EntryPoint = "bpf_program__fd")]
    public static partial int ProgramFd(IntPtr prog);

    [LibraryImport(Library, EntryPoint = "bpf_program__attach", SetLastError = true)]
    public static partial IntPtr ProgramAttach(IntPtr prog);

    /// <summary>A link attaching the program to an open perf event; destroying the link closes the event's fd.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_program__attach_perf_event", SetLastError = true)]
    public static partial IntPtr ProgramAttachPerfEvent(IntPtr prog, int perfEventFd);

    [LibraryImport(Library, EntryPoint = "bpf_program__attach_uprobe_opts", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr ProgramAttachUprobe(IntPtr prog, int pid, string binaryPath, nuint funcOffset, UprobeOptions* opts);

    /// <summary>1 when the kernel loads a program of this type, 0 when not, negative on error.</summary>
    [LibraryImport(Library, EntryPoint = "libbpf_probe_bpf_prog_type")]
    public static partial int ProbeProgramType(int progType, IntPtr opts);

    /// <summary>1 when the kernel creates a map of this type, 0 when not, negative on error.</summary>
    [LibraryImport(Library, EntryPoint = "libbpf_probe_bpf_map_type")]
    public static partial int ProbeMapType(int mapType, IntPtr opts);

    /// <summary>1 when programs of this type may call the helper, 0 when not, negative on error.</summary>
    [LibraryImport(Library, EntryPoint = "libbpf_probe_bpf_helper")]
    public static partial int ProbeHelper(int progType, int helperId, IntPtr opts);

    [LibraryImport(Library, EntryPoint = "btf__load_vmlinux_btf", SetLastError = true)]
    public static partial IntPtr BtfLoadVmlinux();

    [LibraryImport(Library, EntryPoint = "btf__find_by_name_kind", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int BtfFindByNameKind(IntPtr btf, string name, int kind);

    [LibraryImport(Library, EntryPoint = "btf__free")]
    public static partial void BtfFree(IntPtr btf);

    [LibraryImport(Library, EntryPoint = "bpf_map__set_autocreate")]
    public static partial int MapSetAutocreate(IntPtr map, [MarshalAs(UnmanagedType.U1)] bool autocreate);

    [LibraryImport(Library, EntryPoint = "bpf_link__destroy")]
    public static partial int LinkDestroy(IntPtr link);

    [LibraryImport(Library, EntryPoint = "bpf_map__fd")]
    public static partial int MapFd(IntPtr map);

    [LibraryImport(Library, EntryPoint = "bpf_map__set_max_entries")]
    public static partial int MapSetMaxEntries(IntPtr map, uint maxEntries);

    [LibraryImport(Library, EntryPoint = "bpf_map__value_size")]
    public static partial uint MapValueSize(IntPtr map);

    [LibraryImport(Library, EntryPoint = "bpf_map__initial_value")]
    public static partial void* MapInitialValue(IntPtr map, nuint* size);

    [LibraryImport(Library, EntryPoint = "bpf_map__set_initial_value")]
    public static partial int MapSetInitialValue(IntPtr map, void* data, nuint size);

    [LibraryImport(Library, EntryPoint = "bpf_map_update_elem", SetLastError = true)]
    public static partial int MapUpdateElem(int fd, void* key, void* value, ulong flags);

    [LibraryImport(Library, EntryPoint = "bpf_map_lookup_elem", SetLastError = true)]
    public static partial int MapLookupElem(int fd, void* key, void* value);

    [LibraryImport(Library, EntryPoint = "bpf_map_get_next_key", SetLastError = true)]
    public static partial int MapGetNextKey(int fd, void* key, void* nextKey);

    [LibraryImport(Library, EntryPoint = "bpf_map_lookup_and_delete_elem", SetLastError = true)]
    public static partial int MapLookupAndDeleteElem(int fd, void* key, void* value);

    [LibraryImport(Library, EntryPoint = "bpf_map_delete_elem", SetLastError = true)]
    public static partial int MapDeleteElem(int fd, void* key);

    [LibraryImport(Library, EntryPoint = "libbpf_num_possible_cpus")]
    public static partial int NumPossibleCpus();

    [LibraryImport(Library, EntryPoint = "ring_buffer__new", SetLastError = true)]
    public static partial IntPtr RingBufferNew(int mapFd, delegate* unmanaged[Cdecl]<IntPtr, void*, nuint, int> sample, IntPtr ctx, void* opts);

    [LibraryImport(Library, EntryPoint = "ring_buffer__poll")]
    public static partial int RingBufferPoll(IntPtr rb, int timeoutMs);

    [LibraryImport(Library, EntryPoint = "ring_buffer__consume")]
    public static partial int RingBufferConsume(IntPtr rb);

    [LibraryImport(Library, EntryPoint = "ring_buffer__epoll_fd")]
    public static partial int RingBufferEpollFd(IntPtr rb);

    [LibraryImport(Library, EntryPoint = "ring_buffer__free")]
    public static partial void RingBufferFree(IntPtr rb);
}
