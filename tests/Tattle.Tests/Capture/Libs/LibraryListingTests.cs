using Tattle.Capture.Elf;
using Tattle.Capture.Libs;

namespace Tattle.Tests.Capture.Libs;

public class LibraryListingTests
{
    [Theory]
    [InlineData("GLIBC_2.36", "libc.so.6", "GLIBC_2.2.5", "GLIBC_2.4", "GLIBC_2.36", "GLIBC_PRIVATE")]
    [InlineData("GLIBCXX_3.4.30", "libstdc++.so.6", "GLIBCXX_3.4.9", "GLIBCXX_3.4.30", "CXXABI_1.3.13")]
    [InlineData("OPENSSL_3.0.0", "libssl.so.3", "OPENSSL_3.0.0")]
    [InlineData("LIBFFI_GO_CLOSURE_8.0", "libffi.so.8", "LIBFFI_BASE_8.0", "LIBFFI_GO_CLOSURE_8.0", "LIBFFI_CLOSURE_8.0")]
    [InlineData("TATTLE_10.0", "libt.so.1", "TATTLE_10.0", "TATTLE_9.9.9")]
    public void HighestDefinition_ComparesTheNumbers(string expected, string baseName, params string[] names)
    {
        var definitions = new List<ElfVersionDefinition> { new(1, baseName, true) };
        definitions.AddRange(names.Select((n, i) => new ElfVersionDefinition(i + 2, n, false)));
        Assert.Equal(expected, LibraryListing.HighestDefinition(definitions));
    }

    [Fact]
    public void HighestDefinition_NoneButTheBase_IsNull() =>
        Assert.Null(LibraryListing.HighestDefinition([new ElfVersionDefinition(1, "libz.so.1", true)]));

    [Theory]
    [InlineData("libssl.so.3", "3")]
    [InlineData("libstdc++.so.6", "6")]
    [InlineData("libpgm-5.3.so.0", "0")]
    [InlineData("libfoo.so", null)]
    [InlineData("libfoo.so.", null)]
    [InlineData(null, null)]
    public void SonameVersion_IsWhatFollowsDotSo(string? soname, string? expected) =>
        Assert.Equal(expected, LibraryListing.SonameVersion(soname));
}
