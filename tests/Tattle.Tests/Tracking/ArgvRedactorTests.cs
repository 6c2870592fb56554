using Tattle.Tracking.Processes;

namespace Tattle.Tests.Tracking;

/// <summary>Secrets on command lines are hidden the way HTTP ones are.</summary>
public sealed class ArgvRedactorTests
{
    [Theory]
    [InlineData("curl|-H|Authorization: Bearer abc|http://h/", "curl|-H|Authorization: REDACTED|http://h/")]
    [InlineData("curl|-H|X-Auth-Token: abc|-H|Accept: */*", "curl|-H|X-Auth-Token: REDACTED|-H|Accept: */*")]
    [InlineData("curl|-u|alice:s3cret|http://h/", "curl|-u|alice:REDACTED|http://h/")]
    [InlineData("psql|--password=hunter2|-h|db", "psql|--password=REDACTED|-h|db")]
    [InlineData("tool|--api-key|abc|--verbose", "tool|--api-key|REDACTED|--verbose")]
    [InlineData("env|GITHUB_TOKEN=ghp_x|make", "env|GITHUB_TOKEN=REDACTED|make")]
    [InlineData("git|clone|https://bob:pw@example.com/r.git", "git|clone|https://REDACTED@example.com/r.git")]
    [InlineData("curl|http://h/x?access_token=abc&page=2", "curl|http://h/x?access_token=REDACTED&page=2")]
    [InlineData("ls|-l|/tmp", "ls|-l|/tmp")]
    [InlineData("sh|-c|echo key: value", "sh|-c|echo key: value")]
    public void Redacts(string argv, string expected)
    {
        Assert.Equal(expected.Split('|'), ArgvRedactor.Redact(argv.Split('|')));
    }

    [Fact]
    public void NothingSecret_ReturnsTheSameList()
    {
        string[] argv = ["curl", "-s", "http://127.0.0.1:8000/"];
        Assert.Same(argv, ArgvRedactor.Redact(argv));
    }
}
