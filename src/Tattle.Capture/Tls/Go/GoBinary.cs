using Iced.Intel;
using Tattle.Capture.Elf;

namespace Tattle.Capture.Tls.Go;

/// <summary>Where a function's symbol came from.</summary>
public enum GoSymbolSource
{
    /// <summary>The ELF `.symtab` (unstripped binaries).</summary>
    SymTab,

    /// <summary>Go's own `.gopclntab`, present in stripped binaries too.</summary>
    PclnTab,
}

/// <summary>A Go function located for uprobes: its entry and every RET as file offsets.</summary>
/// <param name="Name">The full Go symbol name, e.g. <c>crypto/tls.(*Conn).Write</c>.</param>
/// <param name="Address">The entry's virtual address.</param>
/// <param name="Size">The function's size in bytes (up to the next function's entry for `.gopclntab`).</param>
/// <param name="FileOffset">The entry's file offset.</param>
/// <param name="BodyOffset">
/// The file offset of the first instruction past the stack-growth check (<c>CMP SP, 16(R14); JBE morestack</c>), or the
/// entry when the function has none: what an entry uprobe is attached at, since a call that grows its stack runs
/// the check twice (morestack jumps back to the entry) and would be seen twice.
/// </param>
/// <param name="ReturnOffsets">The file offset of each RET instruction in the function, in address order.</param>
/// <param name="Source">The table the entry and size came from.</param>
/// <param name="ProbeOffset">
/// Where the entry uprobe goes: the first instruction from <paramref name="BodyOffset"/> that the kernel emulates
/// (one trap, not two) before the receiver, the slice or the goroutine register change, or the body itself.
/// </param>
public sealed record GoFunction(string Name, ulong Address, ulong Size, ulong FileOffset, ulong BodyOffset, IReadOnlyList<ulong> ReturnOffsets, GoSymbolSource Source, ulong ProbeOffset);

/// <summary>What an ELF file says about being a Go program and where its crypto/tls functions are.</summary>
/// <param name="IsGo">True when the file has Go's build info or function table.</param>
/// <param name="Version">The toolchain version from `.go.buildinfo` ("go1.19.8"), or null when unreadable.</param>
/// <param name="Stripped">True when the file has no `.symtab`.</param>
/// <param name="Functions">The functions asked for that were found, in the order asked.</param>
/// <param name="Problems">Why something was not found or not read (empty when everything was).</param>
public sealed record GoBinaryInfo(bool IsGo, string? Version, bool Stripped, IReadOnlyList<GoFunction> Functions, IReadOnlyList<string> Problems)
{
    /// <summary>Looks a found function up by name.</summary>
    public GoFunction? Function(string name) => Functions.FirstOrDefault(f => f.Name == name);
}

/// <summary>Reads a Go executable's version and locates functions for uprobes, from `.symtab` or from `.gopclntab`.</summary>
/// <remarks>
/// Go's calling convention and growable stacks break uretprobes (the kernel's return trampoline confuses stack
/// copying), so a return is observed by probing each RET of the function instead; those are found by decoding its
/// machine code. Only ELF64 x86_64 is read, as the rest of Tattle's ELF reader.
/// </remarks>
public static class GoBinary
{
    /// <summary>The crypto/tls methods that see plaintext: what Write is given and what Read returns.</summary>
    public static readonly string[] TlsFunctionNames = ["crypto/tls.(*Conn).Write", "crypto/tls.(*Conn).Read"];

    // A Go function larger than this is not one that would be probed; bounds what is decoded from a corrupt table.
    private const ulong MaxFunctionBytes = 1 << 20;

    /// <summary>Examines the file at <paramref name="path"/> for <see cref="TlsFunctionNames"/>; never throws on file contents.</summary>
    public static GoBinaryInfo Read(string path) => Read(path, TlsFunctionNames);

    /// <summary>Examines the file at <paramref name="path"/> for the named functions; never throws on file contents.</summary>
    public static GoBinaryInfo Read(string path, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var status = ElfFile.Open(path, out var elf);
        if (elf is null)
        {
            return NotGo(status == ElfStatus.NotElf ? "not an ELF file" : $"ELF: {status}");
        }
        using (elf)
        {
            return Read(elf, names);
        }
    }

    internal static GoBinaryInfo Read(ElfFile elf, IReadOnlyList<string> names)
    {
        var problems = new List<string>();
        string? version = GoBuildInfo.TryReadVersion(elf, out var versionProblem);
        var pclntab = GoPclnTab.TryLoad(elf, out var pclnProblem);
        if (version is null && pclntab is null)
        {
            return NotGo($"not Go: {versionProblem}, {pclnProblem}");
        }
        if (version is null)
        {
            problems.Add(versionProblem);
        }
        if (pclntab is null)
        {
            problems.Add(pclnProblem);
        }
        var fromSymtab = elf.HasSymTab ? elf.FindFunctions(names.ToArray()) : [];
        var functions = new List<GoFunction>();
        foreach (var name in names)
        {
            var located = Locate(elf, name, fromSymtab, pclntab, problems);
            if (located is { } f)
            {
                functions.Add(f);
            }
        }
        return new GoBinaryInfo(true, version, !elf.HasSymTab, functions, problems);
    }

    private static GoFunction? Locate(ElfFile elf, string name, IReadOnlyList<ElfFunction> fromSymtab, GoPclnTab? pclntab, List<string> problems)
    {
        ulong address;
        ulong size;
        GoSymbolSource source;
        var symbol = fromSymtab.FirstOrDefault(f => f.Name == name);
        if (symbol.Name is not null && symbol.Size > 0)
        {
            (address, size, source) = (symbol.Address, symbol.Size, GoSymbolSource.SymTab);
        }
        else if (pclntab is not null && pclntab.TryFind(name, out address, out size))
        {
            source = GoSymbolSource.PclnTab;
        }
        else
        {
            problems.Add($"{name}: not found");
            return null;
        }
        if (size == 0 || size > MaxFunctionBytes || !elf.TryGetFileOffset(address, out ulong offset) || !elf.TryGetFileOffset(address + size - 1, out _))
        {
            problems.Add($"{name}: 0x{address:x}+{size} is not inside the file's loaded bytes");
            return null;
        }
        var code = new byte[size];
        if (!elf.TryRead(code, offset))
        {
            problems.Add($"{name}: cannot read its code");
            return null;
        }
        ulong body = FindBody(code, address, offset);
        // Register ABI: the receiver in RAX, the slice in RBX and RCX, the goroutine in R14.
        ulong probe = ProbeSite.Find(code, address, offset, body, [Register.RAX, Register.RBX, Register.RCX, Register.R14]);
        return new GoFunction(name, address, size, offset, body, FindReturns(code, address, offset), source, probe);
    }

    /// <summary>
    /// The file offset just past the stack-growth check a Go function starts with, or <paramref name="fileOffset"/>
    /// when its first instructions are not one (a NOSPLIT function has none).
    /// </summary>
    /// <remarks>
    /// The compiler emits <c>CMP SP, 16(R14)</c> (or <c>LEA -N(SP), R12; CMP R12, 16(R14)</c> for a large frame;
    /// R14 holds the goroutine, 16 is <c>g.stackguard0</c>) and a <c>JBE</c> to a tail that calls
    /// <c>runtime.morestack</c> and jumps back to the entry (cmd/internal/obj/x86/obj6.go, stacksplit). Arguments are
    /// still in their registers at the instruction after the JBE.
    /// </remarks>
    internal static ulong FindBody(byte[] code, ulong address, ulong fileOffset)
    {
        var reader = new ByteArrayCodeReader(code);
        var decoder = Decoder.Create(64, reader, address);
        bool comparedGuard = false;
        for (int i = 0; i < 4 && reader.CanReadByte; i++)
        {
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid)
            {
                break;
            }
            if (instruction.Mnemonic == Mnemonic.Cmp && instruction.MemoryBase == Register.R14 && instruction.MemoryDisplacement64 == 16)
            {
                comparedGuard = true;
            }
            else if (comparedGuard && instruction.FlowControl == FlowControl.ConditionalBranch && instruction.ConditionCode == ConditionCode.be)
            {
                return fileOffset + (instruction.NextIP - address);
            }
            else if (comparedGuard || instruction.FlowControl != FlowControl.Next)
            {
                break;
            }
        }
        return fileOffset;
    }

    /// <summary>The file offsets of the RET instructions in <paramref name="code"/>, which starts at <paramref name="address"/>.</summary>
    internal static IReadOnlyList<ulong> FindReturns(byte[] code, ulong address, ulong fileOffset)
    {
        var returns = new List<ulong>();
        var reader = new ByteArrayCodeReader(code);
        var decoder = Decoder.Create(64, reader, address);
        while (reader.CanReadByte)
        {
            decoder.Decode(out var instruction);
            // Bytes that do not decode (data, a truncated tail) are stepped over: the decoder has consumed them.
            if (!instruction.IsInvalid && instruction.FlowControl == FlowControl.Return)
            {
                returns.Add(fileOffset + (instruction.IP - address));
            }
        }
        return returns;
    }

    private static GoBinaryInfo NotGo(string reason) => new(false, null, false, [], [reason]);
}
