using Iced.Intel;

namespace Tattle.Capture.Tls;

/// <summary>
/// Where in a function an entry-only uprobe costs one trap instead of two: the first instruction the kernel
/// emulates, reached before the arguments' registers change.
/// </summary>
/// <remarks>
/// A uprobe on most instructions traps, steps the original instruction out of line and traps again; on a direct
/// branch, call, push or nop the kernel emulates the instruction (arch/x86/kernel/uprobes.c) and returns at once.
/// Measured here (2026-12-02, bpftrace counting on a loop, see docs/tls.md): 19.6–22 µs a hit on <c>sub $0x18,%rsp</c>
/// (SSL_write's first instruction in Debian's libssl3), 5.1 µs on a <c>js</c>, 5.5 µs on a <c>call</c>, 7.0 µs on a
/// <c>push</c>. A uretprobe must sit on the entry (it replaces the return address at the stack pointer), so only
/// functions probed without one (writes, whose plaintext is known at entry, and Go's) can move.
/// </remarks>
public static class ProbeSite
{
    // The straight-line prologue examined; a probe site further in is not worth the risk of a loop reaching it.
    private const int MaxInstructions = 24;

    /// <summary>
    /// The file offset to probe in the function <paramref name="code"/> (its bytes from its entry at
    /// <paramref name="address"/>, file offset <paramref name="fileOffset"/>), scanning from <paramref name="from"/>:
    /// the first emulated instruction before any of <paramref name="arguments"/> is written, provided it is the
    /// first control-flow instruction there and no branch in the function lands between <paramref name="from"/>
    /// and it (so every call passes it exactly once). <paramref name="from"/> itself when there is none.
    /// </summary>
    public static ulong Find(byte[] code, ulong address, ulong fileOffset, ulong from, IReadOnlyList<Register> arguments)
    {
        ArgumentNullException.ThrowIfNull(code);
        ArgumentNullException.ThrowIfNull(arguments);
        if (from < fileOffset || from - fileOffset >= (ulong)code.Length)
        {
            return from;
        }
        var reader = new ByteArrayCodeReader(code, (int)(from - fileOffset), code.Length - (int)(from - fileOffset));
        var decoder = Decoder.Create(64, reader, address + (from - fileOffset));
        var info = new InstructionInfoFactory();
        ulong site = 0;
        for (int i = 0; i < MaxInstructions && reader.CanReadByte; i++)
        {
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid || WritesAny(info.GetInfo(instruction), arguments))
            {
                return from;
            }
            if (IsEmulated(instruction, code[(int)(instruction.IP - address)]))
            {
                site = instruction.IP;
                break;
            }
            if (instruction.FlowControl != FlowControl.Next)
            {
                return from;
            }
        }
        if (site == 0 || BranchLandsIn(code, address, address + (from - fileOffset), site))
        {
            return from;
        }
        return fileOffset + (site - address);
    }

    // Direct jumps, calls and pushes of a register without a legacy prefix (the kernel refuses some prefixed forms
    // and single-steps them), and the one-byte NOP.
    private static bool IsEmulated(in Instruction instruction, byte first)
    {
        if (first is 0x66 or 0x67 or 0xf0 or 0xf2 or 0xf3 or 0x26 or 0x2e or 0x36 or 0x3e or 0x64 or 0x65)
        {
            return false;
        }
        return instruction.IsJccShortOrNear || instruction.IsJmpShortOrNear || instruction.IsCallNear
            || (instruction.Mnemonic == Mnemonic.Push && instruction.Op0Kind == OpKind.Register)
            || (instruction.Mnemonic == Mnemonic.Nop && instruction.Length == 1);
    }

    private static bool WritesAny(InstructionInfo info, IReadOnlyList<Register> arguments)
    {
        foreach (var used in info.GetUsedRegisters())
        {
            if (used.Access is OpAccess.Write or OpAccess.ReadWrite or OpAccess.CondWrite or OpAccess.ReadCondWrite
                && arguments.Contains(used.Register.GetFullRegister()))
            {
                return true;
            }
        }
        return false;
    }

    // Whether a direct branch anywhere in the function targets [start, site]: a loop back into the prologue would
    // pass the site twice in one call.
    private static bool BranchLandsIn(byte[] bytes, ulong address, ulong start, ulong site)
    {
        var reader = new ByteArrayCodeReader(bytes);
        var decoder = Decoder.Create(64, reader, address);
        while (reader.CanReadByte)
        {
            decoder.Decode(out var instruction);
            if (!instruction.IsInvalid && instruction.FlowControl is FlowControl.ConditionalBranch or FlowControl.UnconditionalBranch
                && instruction.Op0Kind is OpKind.NearBranch64 && instruction.NearBranch64 >= start && instruction.NearBranch64 <= site)
            {
                return true;
            }
        }
        return false;
    }
}
