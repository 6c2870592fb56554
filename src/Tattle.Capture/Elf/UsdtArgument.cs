using System.Globalization;

namespace Tattle.Capture.Elf;

/// <summary>Where a USDT argument's value comes from.</summary>
public enum UsdtArgumentKind
{
    /// <summary>`$5`: the value is <see cref="UsdtArgument.Value"/> itself.</summary>
    Constant,

    /// <summary>`%rbx`, `%edi`: the register at <see cref="UsdtArgument.RegOffset"/>, cut to <see cref="UsdtArgument.Size"/> bytes.</summary>
    Register,

    /// <summary>`-80(%rbx)`: <see cref="UsdtArgument.Size"/> bytes of user memory at register + <see cref="UsdtArgument.Value"/>.</summary>
    Memory,
}

/// <summary>Why an argument spec was not parsed.</summary>
public enum UsdtArgumentStatus
{
    /// <summary>Parsed.</summary>
    Ok,

    /// <summary>Not an operand this parser knows the shape of (empty, a size other than 1/2/4/8, garbage).</summary>
    Malformed,

    /// <summary>`8@(%rax,%rbx,8)`: an address with an index register.</summary>
    IndexRegister,

    /// <summary>`8@%fs:16`: an address in a segment.</summary>
    SegmentPrefix,

    /// <summary>`8@sym(%rip)`: an address given by a symbol, which needs the object's load address.</summary>
    SymbolOffset,

    /// <summary>A register outside pt_regs' general-purpose ones (%xmm0, %st, %ah).</summary>
    UnsupportedRegister,
}

/// <summary>
/// One parsed x86-64 SystemTap SDT argument (`[-]SIZE@OPERAND`, operands in AT&amp;T syntax), in the form BPF code
/// reads it: the register as its byte offset in the kernel's x86-64 struct pt_regs.
/// </summary>
/// <param name="Kind">Constant, register, or memory at register + offset.</param>
/// <param name="Size">1, 2, 4 or 8 bytes.</param>
/// <param name="Signed">A negative size in the spec: the value sign-extends from <paramref name="Size"/> bytes.</param>
/// <param name="RegOffset">The register's byte offset in struct pt_regs; -1 for a constant.</param>
/// <param name="Value">The constant, or the memory operand's displacement (0 for a register).</param>
public readonly record struct UsdtArgument(UsdtArgumentKind Kind, int Size, bool Signed, int RegOffset, long Value)
{
    // struct pt_regs on x86-64 (arch/x86/include/asm/ptrace.h), 8 bytes per slot; a sub-register (%edi, %di, %dil)
    // is the low bytes of its full register's slot on little-endian x86.
    private static readonly string[] PtRegs = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss"];

    private static readonly Dictionary<string, (string Full, int Width)> SubRegisters = BuildSubRegisters();

    /// <summary>The name of the 64-bit register at a pt_regs offset (rbx for 40), or null for an offset that is not a slot.</summary>
    public static string? RegisterName(int regOffset) =>
        regOffset >= 0 && regOffset % 8 == 0 && regOffset / 8 < PtRegs.Length ? PtRegs[regOffset / 8] : null;

    /// <summary>Parses one spec such as `-4@112(%rsp)`; never throws. A spec without `SIZE@` takes the register's width (8 otherwise), unsigned.</summary>
    public static UsdtArgumentStatus Parse(string spec, out UsdtArgument argument)
    {
        argument = default;
        if (string.IsNullOrEmpty(spec))
        {
            return UsdtArgumentStatus.Malformed;
        }
        int size = 0;
        bool signed = false;
        string operand = spec;
        int at = spec.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            string prefix = spec[..at];
            signed = prefix.StartsWith('-');
            if (!int.TryParse(signed ? prefix[1..] : prefix, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size is not (1 or 2 or 4 or 8))
            {
                return UsdtArgumentStatus.Malformed;
            }
            operand = spec[(at + 1)..];
        }
        var status = ParseOperand(operand, out var kind, out int regOffset, out long value, out int width);
        if (status != UsdtArgumentStatus.Ok)
        {
            return status;
        }
        argument = new UsdtArgument(kind, size != 0 ? size : width, signed, regOffset, value);
        return UsdtArgumentStatus.Ok;
    }

    /// <summary>
    /// Parses a note's argument string (specs separated by spaces). On the first spec that does not parse, returns its
    /// status, its index in <paramref name="failedAt"/>, and an empty list.
    /// </summary>
    public static UsdtArgumentStatus ParseAll(string text, out IReadOnlyList<UsdtArgument> arguments, out int failedAt)
    {
        ArgumentNullException.ThrowIfNull(text);
        var specs = SplitSpecs(text);
        var list = new List<UsdtArgument>(specs.Length);
        arguments = [];
        for (failedAt = 0; failedAt < specs.Length; failedAt++)
        {
            var status = Parse(specs[failedAt], out var a);
            if (status != UsdtArgumentStatus.Ok)
            {
                return status;
            }
            list.Add(a);
        }
        failedAt = -1;
        arguments = list;
        return UsdtArgumentStatus.Ok;
    }

    /// <summary>The specs of a note's argument string, in order.</summary>
    public static string[] SplitSpecs(string text) =>
        (text ?? throw new ArgumentNullException(nameof(text))).Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The reason, fit to print after the spec.</summary>
    public static string Describe(UsdtArgumentStatus status) => status switch
    {
        UsdtArgumentStatus.Malformed => "not an argument spec (SIZE@OPERAND, size 1, 2, 4 or 8)",
        UsdtArgumentStatus.IndexRegister => "an address with an index register is not supported",
        UsdtArgumentStatus.SegmentPrefix => "an address in a segment (%fs:, %gs:) is not supported",
        UsdtArgumentStatus.SymbolOffset => "an address relative to a symbol is not supported",
        UsdtArgumentStatus.UnsupportedRegister => "not a general-purpose register in pt_regs",
        _ => "parsed",
    };

    private static UsdtArgumentStatus ParseOperand(string operand, out UsdtArgumentKind kind, out int regOffset, out long value, out int width)
    {
        kind = UsdtArgumentKind.Constant;
        regOffset = -1;
        value = 0;
        width = 8;
        if (operand.StartsWith('$'))
        {
            return TryParseNumber(operand[1..], out value) ? UsdtArgumentStatus.Ok : UsdtArgumentStatus.Malformed;
        }
        if (operand.StartsWith('%'))
        {
            // %fs:16 and %fs:(%rax): a segment override; a plain register has no colon.
            if (operand.Contains(':', StringComparison.Ordinal))
            {
                return UsdtArgumentStatus.SegmentPrefix;
            }
            kind = UsdtArgumentKind.Register;
            return Register(operand[1..], out regOffset, out width);
        }
        int open = operand.IndexOf('(', StringComparison.Ordinal);
        if (open < 0 || !operand.EndsWith(')'))
        {
            return operand.Contains(':', StringComparison.Ordinal) ? UsdtArgumentStatus.SegmentPrefix : UsdtArgumentStatus.Malformed;
        }
        string displacement = operand[..open];
        string inside = operand[(open + 1)..^1];
        kind = UsdtArgumentKind.Memory;
        if (displacement.Contains(':', StringComparison.Ordinal))
        {
            return UsdtArgumentStatus.SegmentPrefix;
        }
        if (inside.Contains(',', StringComparison.Ordinal))
        {
            return UsdtArgumentStatus.IndexRegister;
        }
        if (!inside.StartsWith('%'))
        {
            return UsdtArgumentStatus.Malformed;
        }
        var status = Register(inside[1..], out regOffset, out int baseWidth);
        if (status != UsdtArgumentStatus.Ok)
        {
            return status;
        }
        if (baseWidth != 8)
        {
            // (%eax) is a 32-bit address (addr32 prefix); reading through the full register would be wrong.
            return UsdtArgumentStatus.UnsupportedRegister;
        }
        if (displacement.Length > 0 && !TryParseNumber(displacement, out value))
        {
            return IsSymbol(displacement) ? UsdtArgumentStatus.SymbolOffset : UsdtArgumentStatus.Malformed;
        }
        return UsdtArgumentStatus.Ok;
    }

    /// <summary>A register name without `%`: its pt_regs slot and how many bytes of it the name covers.</summary>
    private static UsdtArgumentStatus Register(string name, out int regOffset, out int width)
    {
        regOffset = -1;
        width = 8;
        if (name.Length == 0 || !name.All(char.IsAsciiLetterOrDigit))
        {
            return UsdtArgumentStatus.Malformed;
        }
        if (!SubRegisters.TryGetValue(name, out var reg))
        {
            return UsdtArgumentStatus.UnsupportedRegister;
        }
        regOffset = Array.IndexOf(PtRegs, reg.Full) * 8;
        width = reg.Width;
        return UsdtArgumentStatus.Ok;
    }

    /// <summary>Decimal or 0x hex, with an optional sign; false on overflow or anything else.</summary>
    private static bool TryParseNumber(string text, out long value)
    {
        value = 0;
        bool negative = text.StartsWith('-');
        string digits = negative || text.StartsWith('+') ? text[1..] : text;
        bool hex = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        if (!ulong.TryParse(hex ? digits[2..] : digits, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out ulong magnitude))
        {
            return false;
        }
        // Constants of unsigned 64-bit arguments are written as large positive numbers; they keep their bits.
        value = negative ? unchecked(-(long)magnitude) : unchecked((long)magnitude);
        return !negative || magnitude <= 1UL << 63;
    }

    /// <summary>An assembler symbol expression such as `g`, `tbl+8`, `.LC0`: what GCC writes for a global's address.</summary>
    private static bool IsSymbol(string text) =>
        text.Length > 0 && (char.IsAsciiLetter(text[0]) || text[0] is '_' or '.') && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '$' or '+' or '-');

    private static Dictionary<string, (string, int)> BuildSubRegisters()
    {
        var map = new Dictionary<string, (string, int)>(StringComparer.Ordinal);
        // rax..rdi, rbp, rsp: the 32-, 16- and low 8-bit names. %ah..%dh (bits 8-15) are not the low bytes of a
        // slot, so they are left out and parse as unsupported.
        foreach (var (full, e, w, b) in (ReadOnlySpan<(string, string, string, string)>)[
            ("rax", "eax", "ax", "al"), ("rbx", "ebx", "bx", "bl"), ("rcx", "ecx", "cx", "cl"), ("rdx", "edx", "dx", "dl"),
            ("rsi", "esi", "si", "sil"), ("rdi", "edi", "di", "dil"), ("rbp", "ebp", "bp", "bpl"), ("rsp", "esp", "sp", "spl")])
        {
            map[full] = (full, 8);
            map[e] = (full, 4);
            map[w] = (full, 2);
            map[b] = (full, 1);
        }
        for (int n = 8; n <= 15; n++)
        {
            string full = $"r{n}";
            map[full] = (full, 8);
            map[full + "d"] = (full, 4);
            map[full + "w"] = (full, 2);
            map[full + "b"] = (full, 1);
        }
        map["rip"] = ("rip", 8);
        map["eip"] = ("rip", 4);
        return map;
    }
}
