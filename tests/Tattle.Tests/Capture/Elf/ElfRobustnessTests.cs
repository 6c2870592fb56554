using FsCheck;
using FsCheck.Fluent;
using Tattle.Capture.Elf;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Elf;

public class ElfRobustnessTests(ITestOutputHelper output)
{
    private static readonly string[] Names = ["main", "tattle_global_fn", "tattle_local_fn", "SSL_read"];

    [SkippableFact]
    public void EveryPrefix_OfARealBinary_GivesAStatus()
    {
        Requires.Program(output, "cc");
        byte[] whole = File.ReadAllBytes(TestBinary.Unstripped);
        Assert.Equal(ElfStatus.Ok, Parse(whole));
        for (int n = 0; n < whole.Length; n++)
        {
            // The section headers sit at the end of the file, so every shorter prefix is cut off somewhere.
            Assert.Equal(n == 0 ? ElfStatus.NotElf : ElfStatus.Truncated, Parse(whole.AsMemory(0, n)));
        }
    }

    [SkippableFact]
    public void MutatedRealBinary_NeverThrows()
    {
        Requires.Program(output, "cc");
        byte[] whole = File.ReadAllBytes(TestBinary.Unstripped);
        // Changes inside the headers and tables reach the deeper checks that random bytes never get past.
        Prop.ForAll<int[], byte[]>((positions, values) =>
        {
            byte[] m = (byte[])whole.Clone();
            positions ??= [];
            values ??= [];
            for (int i = 0; i < Math.Min(positions.Length, values.Length); i++)
            {
                int at = (int)((uint)positions[i] % (uint)Math.Min(m.Length, 4096));
                m[i % 2 == 0 ? at : m.Length - 1 - at] = values[i];
            }
            _ = Parse(m);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    [Fact]
    public void RandomBytes_NeverThrow()
    {
        Prop.ForAll<byte[]>(bytes =>
        {
            _ = Parse(bytes ?? []);
            byte[] withMagic = [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, .. new byte[8], 3, 0, 62, 0, .. bytes ?? []];
            _ = Parse(withMagic);
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData(4, 1, 62, ElfStatus.Unsupported)] // ELFCLASS32
    [InlineData(4, 0, 62, ElfStatus.Malformed)] // ELFCLASSNONE
    [InlineData(5, 2, 62, ElfStatus.Unsupported)] // ELFDATA2MSB
    [InlineData(5, 3, 62, ElfStatus.Malformed)] // no such data encoding
    [InlineData(18, 183, 183, ElfStatus.Unsupported)] // EM_AARCH64
    public void OtherKindsOfElf_AreReported(int index, byte value, byte machine, ElfStatus expected)
    {
        byte[] header = new byte[64];
        header[0] = 0x7f;
        header[1] = (byte)'E';
        header[2] = (byte)'L';
        header[3] = (byte)'F';
        header[4] = 2;
        header[5] = 1;
        header[6] = 1;
        header[18] = machine;
        header[index] = value;
        Assert.Equal(expected, Parse(header));
    }

    [Fact]
    public void HeaderOnly_X86_64_IsAnObjectWithNothingInIt()
    {
        byte[] header = new byte[64];
        "\x7f"u8.CopyTo(header);
        "ELF"u8.CopyTo(header.AsSpan(1));
        header[4] = 2;
        header[5] = 1;
        header[18] = 62;
        Assert.Equal(ElfStatus.Ok, ElfFile.Open(header, out var elf));
        using (elf)
        {
            Assert.Empty(elf!.LoadSegments);
            Assert.Empty(elf.FindFunctions(Names));
            Assert.Null(elf.BuildId);
        }
    }

    [Fact]
    public void Files_EmptyMissingDirectoryAndText()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"tattle-elf-bad-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string empty = Path.Combine(dir, "empty");
            File.WriteAllBytes(empty, []);
            string text = Path.Combine(dir, "text");
            File.WriteAllText(text, "#!/bin/sh\necho hi\n");
            Assert.Equal(ElfStatus.NotElf, ElfFile.Open(empty, out _));
            Assert.Equal(ElfStatus.NotElf, ElfFile.Open(text, out _));
            Assert.Equal(ElfStatus.IoError, ElfFile.Open(Path.Combine(dir, "missing"), out _));
            Assert.Equal(ElfStatus.IoError, ElfFile.Open(dir, out var none));
            Assert.Null(none);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static ElfStatus Parse(ReadOnlyMemory<byte> bytes)
    {
        var status = ElfFile.Open(bytes, out var elf);
        Assert.Equal(status == ElfStatus.Ok, elf is not null);
        if (elf is not null)
        {
            using (elf)
            {
                _ = elf.FindFunctions(Names);
                _ = elf.TryGetFileOffset(0x1000, out _);
                if (elf.TryFindSection(".text", out var text))
                {
                    Assert.True(elf.TryRead(new byte[Math.Min(text.Size, 64)], text.Offset));
                }
                Assert.False(elf.TryRead(new byte[1], ulong.MaxValue));
            }
        }
        return status;
    }
}
