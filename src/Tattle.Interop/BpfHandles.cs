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

/// <summary>A handle that keeps its bpf_object alive (DangerousAddRef) until it is released itself.</summary>
public abstract class BpfChildHandle : SafeHandle
{
    private readonly BpfObjectHandle _owner;

    protected BpfChildHandle(IntPtr handle, BpfObjectHandle owner)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        bool added = false;
        owner.DangerousAddRef(ref added);
        _owner = owner;
        SetHandle(handle);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Frees the native resource; the owner is released afterwards.</summary>
    protected abstract void Free(IntPtr handle);

    protected sealed override bool ReleaseHandle()
    {
        Free(handle);
        _owner.DangerousRelease();
        return true;
    }
}

/// <summary>An attached program.</summary>
public sealed class BpfLinkHandle(IntPtr link, BpfObjectHandle owner) : BpfChildHandle(link, owner)
{
    protected override void Free(IntPtr handle) => Libbpf.LinkDestroy(handle);
}

/// <summary>A libbpf ring_buffer consumer.</summary>
public sealed class RingBufferHandle(IntPtr rb, BpfObjectHandle owner) : BpfChildHandle(rb, owner)
{
    protected override void Free(IntPtr handle) => Libbpf.RingBufferFree(handle);
}
