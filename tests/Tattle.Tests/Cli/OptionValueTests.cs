using FsCheck;
using FsCheck.Fluent;
using Tattle.Cli;

namespace Tattle.Tests.Cli;

/// <summary>Every value of every option either parses or gets one line naming the option, and exit 2; never an exception.</summary>
public sealed class OptionValueTests
{
    // Each option with a command line that is valid apart from the option's value.
    private static readonly (string Option, string[] Before, string[] After)[] Options =
    [
        ("--snaplen", ["run"], ["--", "true"]),
        ("--ring-size", ["run"], ["--", "true"]),
        ("--body-limit", ["run"], ["--", "true"]),
        ("--stream-buffer", ["run"], ["--", "true"]),
        ("--duration", ["attach", "-p", "1"], []),
        ("--snaplen", ["attach", "-p", "1"], []),
        ("--ring-size", ["sandbox"], ["--", "true"]),
        ("--body-limit", ["read", "x.pcapng"], []),
        ("--stream-buffer", ["read", "x.pcapng"], []),
        ("--proto", ["run"], ["--", "true"]),
        ("--pid", ["attach"], []),
        ("--subnet", ["sandbox"], ["--", "true"]),
        ("--dns", ["sandbox"], ["--", "true"]),
        ("--write", ["run"], ["--", "true"]),
        ("--json", ["attach", "-p", "1"], []),
        ("--user", ["sandbox"], ["--", "true"]),
    ];

    /// <summary>Parses in-process as Main does; returns the lines written, or null when the command line was accepted.</summary>
    private static string[]? Errors(string[] args)
    {
        var stderr = new StringWriter();
        return Program.Parse(args, stderr) is null ? stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries) : null;
    }

    private static string[] Line(int which, string value)
    {
        var (option, before, after) = Options[(int)((uint)which % (uint)Options.Length)];
        // A value that looks like an option (or is empty) can only be given as --option=value.
        string[] given = value.Length == 0 || value[0] == '-' ? [$"{option}={value}"] : [option, value];
        return [.. before, .. given, .. after];
    }

    [Theory]
    [InlineData("run", "--snaplen", "abc", "--snaplen must be an integer from 0 to 1048576 (bytes), not 'abc'")]
    [InlineData("run", "--ring-size", "abc", "--ring-size must be a power of two from 1 to 1024 (MiB), not 'abc'")]
    [InlineData("run", "--ring-size", "3", "--ring-size must be a power of two from 1 to 1024 (MiB), not '3'")]
    [InlineData("run", "--body-limit", "x", "--body-limit must be an integer from 0 to 16777216 (bytes), not 'x'")]
    [InlineData("run", "--stream-buffer", "x", "--stream-buffer must be an integer from 4096 to 268435456 (bytes), not 'x'")]
    [InlineData("run", "--snaplen", "99999999999999999999", "--snaplen must be an integer from 0 to 1048576 (bytes), not '99999999999999999999'")]
    [InlineData("attach", "--duration", "abc", "--duration must be a number of seconds from 0.001 to 31536000 (a year), not 'abc'")]
    [InlineData("attach", "--duration", "1e99", "--duration must be a number of seconds from 0.001 to 31536000 (a year), not '1e99'")]
    [InlineData("attach", "--duration", "NaN", "--duration must be a number of seconds from 0.001 to 31536000 (a year), not 'NaN'")]
    [InlineData("attach", "--duration", "0", "--duration must be a number of seconds from 0.001 to 31536000 (a year), not '0'")]
    public void NonNumericOrOutOfRange_OneLineNamingTheOptionAndTheRange(string verb, string option, string value, string message)
    {
        string[] args = verb == "attach" ? ["attach", "-p", "1", option, value] : [verb, option, value, "--", "true"];
        var errors = Errors(args);
        Assert.NotNull(errors);
        Assert.Equal(["tattle: " + message, "Try 'tattle --help'."], errors);
    }

    [Theory]
    [InlineData("--snaplen", "0")]
    [InlineData("--snaplen", "1048576")]
    [InlineData("--ring-size", "64")]
    [InlineData("--body-limit", "100")]
    [InlineData("--stream-buffer", "4096")]
    public void ValuesInRange_AreAccepted(string option, string value) =>
        Assert.Null(Errors(["run", option, value, "--", "true"]));

    [Fact]
    public void AnAtSign_IsAFileName_NotAResponseFile() =>
        Assert.Null(Errors(["run", "--json", "@out.jsonl", "--", "true"]));

    [Fact]
    public void Duration_InRange_IsAccepted_AsSecondsWithAFraction() =>
        Assert.Null(Errors(["attach", "-p", "1", "--duration", "2.5"]));

    [Fact]
    public void AnyValueOfAnyOption_ParsesOrGetsOneLineNamingTheOption_NeverThrows()
    {
        Prop.ForAll<int, string>((which, value) =>
        {
            string text = value ?? "";
            var args = Line(which, text);
            var errors = Errors(args);
            if (errors is null)
            {
                return;
            }
            string option = Options[(int)((uint)which % (uint)Options.Length)].Option;
            // One problem, one line, naming the option (the hint line after it).
            Assert.True(errors.Length == 2, string.Join(" | ", args) + " => " + string.Join(" | ", errors));
            Assert.StartsWith("tattle: ", errors[0]);
            Assert.True(errors[0].Contains(option, StringComparison.Ordinal) || errors[0].Contains("-p", StringComparison.Ordinal),
                string.Join(" | ", args) + " => " + errors[0]);
            Assert.Equal("Try 'tattle --help'.", errors[1]);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }
}
