using System.Runtime.InteropServices;

namespace Tattle.Interop;

/// <summary>An open (and later loaded) bpf_object; closing it unloads its programs and maps.</summary>
public sealed class BpfObjectHandle : SafeHandle
{
    public BpfObjectHandle(IntPtr handle)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        Libbpf.ObjectClose(handle);
        return true;
    }
}

/// <summary>An attached program; it keeps its bpf_object alive until the link is destroyed.</summary>
public sealed class BpfLinkHandle : SafeHandle
{
    private readonly BpfObjectHandle _owner;

    public BpfLinkHandle(IntPtr link, BpfObjectHandle owner)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        bool added = false;
        owner.DangerousAddRef(ref added);
        _owner = owner;
        SetHandle(link);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        Libbpf.LinkDestroy(handle);
        _owner.DangerousRelease();
        return true;
    }
}

/// <summary>A libbpf ring_buffer consumer; it keeps its bpf_object alive while it exists.</summary>
public sealed class RingBufferHandle : SafeHandle
{
    private readonly BpfObjectHandle _owner;

    public RingBufferHandle(IntPtr rb, BpfObjectHandle owner)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        bool added = false;
        owner.DangerousAddRef(ref added);
        _owner = owner;
        SetHandle(rb);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        Libbpf.RingBufferFree(handle);
        _owner.DangerousRelease();
        return true;
    }
}
