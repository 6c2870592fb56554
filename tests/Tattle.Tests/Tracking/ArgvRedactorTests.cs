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
    [InlineData("dotnet|app.dll|Server=db;User ID=app;Password=hunter2;Database=x", "dotnet|app.dll|Server=db;User ID=app;Password=REDACTED;Database=x")]
    [InlineData("dotnet|app.dll|Host=db;Username=app;Pwd = p;Pooling=false", "dotnet|app.dll|Host=db;Username=app;Pwd =REDACTED;Pooling=false")]
    [InlineData("psql|host=db user=app password=hunter2", "psql|host=db user=app password=REDACTED")]
    [InlineData("sqlite3|a;b=c", "sqlite3|a;b=c")]
    [InlineData("sh|-c|echo key: value", "sh|-c|echo key: value")]
    [InlineData("curl|--user=alice:pw|http://h/", "curl|--user=alice:REDACTED|http://h/")]
    [InlineData("curl|--proxy-user=bob:pw|http://h/", "curl|--proxy-user=bob:REDACTED|http://h/")]
    [InlineData("curl|-ualice:pw|http://h/", "curl|-ualice:REDACTED|http://h/")]
    [InlineData("curl|-Ubob:pw|http://h/", "curl|-Ubob:REDACTED|http://h/")]
    [InlineData("sh|-c|curl -H 'Authorization: Bearer abc.def' http://h/", "sh|-c|curl -H 'Authorization: Bearer REDACTED' http://h/")]
    [InlineData("sh|-c|curl -u alice:pw http://h/", "sh|-c|curl -u alice:REDACTED http://h/")]
    [InlineData("sh|-c|curl -u 'alice:pw'  --password=x\tTOKEN=y make", "sh|-c|curl -u 'alice:REDACTED'  --password=REDACTED\tTOKEN=REDACTED make")]
    [InlineData("sh|-c|git clone https://bob:pw@example.com/r.git", "sh|-c|git clone https://REDACTED@example.com/r.git")]
    [InlineData("tool|--sig|abc", "tool|--sig|REDACTED")]
    [InlineData("tool|--signature|abc", "tool|--signature|REDACTED")]
    [InlineData("tool|--pwd|abc", "tool|--pwd|REDACTED")]
    [InlineData("tool|--auth|abc", "tool|--auth|REDACTED")]
    [InlineData("tool|--session|abc", "tool|--session|REDACTED")]
    [InlineData("tool|--credential|abc", "tool|--credential|REDACTED")]
    [InlineData("env|DB_PASSWD=x|MYSQL_PWD=y|run", "env|DB_PASSWD=REDACTED|MYSQL_PWD=REDACTED|run")]
    [InlineData("curl|https://b.s3.amazonaws.com/o?X-Amz-Credential=AKIA%2F&X-Amz-Signature=ab12&v=1", "curl|https://b.s3.amazonaws.com/o?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&v=1")]
    [InlineData("curl|http://h/?sig=x&session=y&auth=z&credential=w&passwd=v&pwd=u", "curl|http://h/?sig=REDACTED&session=REDACTED&auth=REDACTED&credential=REDACTED&passwd=REDACTED&pwd=REDACTED")]
    [InlineData("app|eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_x", "app|REDACTED")]
    [InlineData("app|--id=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.", "app|--id=REDACTED")]
    [InlineData("app|Bearer xyz", "app|Bearer REDACTED")]
    [InlineData("app|basic YWxpY2U6cHc=", "app|basic REDACTED")]
    [InlineData("app|the basically fine design of an author", "app|the basically fine design of an author")]
    [InlineData("sort|-u|file", "sort|-u|file")]
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
