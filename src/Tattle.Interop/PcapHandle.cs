using System.Runtime.InteropServices;

namespace Tattle.Interop;

/// <summary>A pcap_t from pcap_create; closing it (pcap_close) also unmaps its ring and closes its socket.</summary>
public sealed class PcapHandle : SafeHandle
{
    public PcapHandle(IntPtr handle)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        Libpcap.Close(handle);
        return true;
    }
}
