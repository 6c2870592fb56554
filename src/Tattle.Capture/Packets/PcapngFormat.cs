namespace Tattle.Capture.Packets;

/// <summary>Block type codes, option codes and magic numbers of pcap and pcapng, shared by the reader here and Tattle.Output's PcapngWriter.</summary>
public static class PcapngFormat
{
    // Block types, draft-ietf-opsawg-pcapng section 10.1 (Table 9).
    public const uint SectionHeaderBlock = 0x0A0D0D0A;
    public const uint InterfaceDescriptionBlock = 1;
    public const uint PacketBlock = 2; // obsolete, appendix A
    public const uint SimplePacketBlock = 3;
    public const uint InterfaceStatisticsBlock = 5;
    public const uint EnhancedPacketBlock = 6;

    /// <summary>Section 4.1: written in the section's byte order, so it tells a reader that order.</summary>
    public const uint ByteOrderMagic = 0x1A2B3C4D;

    // Options common to every block, section 3.5 (Table 1).
    public const ushort OptEndOfOpt = 0;
    public const ushort OptComment = 1;

    // Section Header Block options, section 4.1 (Table 2).
    public const ushort ShbHardware = 2;
    public const ushort ShbOs = 3;
    public const ushort ShbUserAppl = 4;

    // Interface Description Block options, section 4.2 (Table 3).
    public const ushort IfName = 2;
    public const ushort IfDescription = 3;
    public const ushort IfTsResol = 9;
    public const ushort IfTsOffset = 14;

    // Interface Statistics Block options, section 4.6 (Table 8).
    public const ushort IsbStartTime = 2;
    public const ushort IsbEndTime = 3;
    public const ushort IsbIfRecv = 4;
    public const ushort IsbIfDrop = 5;
    public const ushort IsbFilterAccept = 6;
    public const ushort IsbOsDrop = 7;
    public const ushort IsbUsrDeliv = 8;

    // Classic pcap (draft-ietf-opsawg-pcap section 4), as read in little-endian order.
    public const uint PcapMicroseconds = 0xA1B2C3D4;
    public const uint PcapNanoseconds = 0xA1B23C4D;
    public const uint PcapMicrosecondsSwapped = 0xD4C3B2A1;
    public const uint PcapNanosecondsSwapped = 0x4D3CB2A1;

    /// <summary>Every block is padded to 32 bits (section 3.1).</summary>
    public static int Pad4(int length) => (length + 3) & ~3;

    public static string BlockName(uint type) => type switch
    {
        SectionHeaderBlock => "Section Header Block",
        InterfaceDescriptionBlock => "Interface Description Block",
        PacketBlock => "Packet Block",
        SimplePacketBlock => "Simple Packet Block",
        4 => "Name Resolution Block",
        InterfaceStatisticsBlock => "Interface Statistics Block",
        EnhancedPacketBlock => "Enhanced Packet Block",
        0x0A => "Decryption Secrets Block",
        0x0BAD or 0x40000BAD => "Custom Block",
        _ => $"block of type 0x{type:x8}",
    };
}
