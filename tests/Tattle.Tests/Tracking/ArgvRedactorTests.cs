using FsCheck;
using FsCheck.Fluent;
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
    [InlineData("curl|--oauth2-bearer|hunt2tok|http://h/", "curl|--oauth2-bearer|REDACTED|http://h/")]
    [InlineData("curl|-b|user_pref=v1; b=2|--cookie|x=v2|http://h/", "curl|-b|REDACTED|--cookie|REDACTED|http://h/")]
    [InlineData("/usr/bin/curl|-bsid=v1|http://h/", "/usr/bin/curl|-bREDACTED|http://h/")]
    [InlineData("curl|-b|cookies.txt|-c|jar.txt|http://h/", "curl|-b|cookies.txt|-c|jar.txt|http://h/")]
    [InlineData("sh|-c|curl -b 'a=1' --oauth2-bearer tok http://h/", "sh|-c|curl -b 'REDACTED' --oauth2-bearer REDACTED http://h/")]
    [InlineData("tool|-b|a=1", "tool|-b|a=1")]
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
    [InlineData("redis-cli|-p|6379|-a|s3cret|--no-auth-warning|SET|k|v", "redis-cli|-p|6379|-a|REDACTED|--no-auth-warning|SET|k|v")]
    [InlineData("/usr/bin/redis-cli|--user|app|--pass|s3cret|PING", "/usr/bin/redis-cli|--user|app|--pass|REDACTED|PING")]
    [InlineData("redis-cli|-u|redis://app:s3cret@db:6379/0|PING", "redis-cli|-u|redis://REDACTED@db:6379/0|PING")]
    [InlineData("redis-cli|AUTH|s3cret", "redis-cli|AUTH|REDACTED")]
    [InlineData("redis-cli|hello|3|auth|app|s3cret", "redis-cli|hello|3|auth|REDACTED|REDACTED")]
    [InlineData("redis-cli|CONFIG|SET|requirepass|s3cret", "redis-cli|CONFIG|SET|requirepass|REDACTED")]
    [InlineData("redis-cli|-a|s3cret|GET|AUTH", "redis-cli|-a|REDACTED|GET|AUTH")]
    [InlineData("tool|-a|file", "tool|-a|file")]
    [InlineData("tool|AUTH|x", "tool|AUTH|x")]
    [InlineData("mysql|-uroot|-ps3cret|shop", "mysql|-uroot|-pREDACTED|shop")]
    [InlineData("mysql|-u|root|-p|shop", "mysql|-u|root|-p|shop")]
    [InlineData("sshpass|-p|s3cret|ssh|host", "sshpass|-p|REDACTED|ssh|host")]
    [InlineData("mongosh|-u|app|-p|s3cret|mongodb://db", "mongosh|-u|app|-p|REDACTED|mongodb://db")]
    [InlineData("openssl|enc|-aes256|-pass|pass:s3cret|-in|f", "openssl|enc|-aes256|-pass|pass:REDACTED|-in|f")]
    [InlineData("openssl|pkcs12|-passin|pass:s3cret|-passout|env:PW", "openssl|pkcs12|-passin|pass:REDACTED|-passout|env:PW")]
    [InlineData("sh|-c|openssl pkcs12 -passin pass:s3cret -in f", "sh|-c|openssl pkcs12 -passin pass:REDACTED -in f")]
    [InlineData("sh|-c|curl -s \"http://[::1]:8/?token=abc\"; dig example.com", "sh|-c|curl -s \"http://[::1]:8/?token=REDACTED\"; dig example.com")]
    [InlineData("sh|-c|PASSWORD=x ./run.sh --port 80", "sh|-c|PASSWORD=REDACTED ./run.sh --port 80")]
    [InlineData("sh|-c|cd /srv; PASSWORD=x true; echo done", "sh|-c|cd /srv; PASSWORD=REDACTED true; echo done")]
    [InlineData("app|Data Source=db;Password=my pass;", "app|Data Source=db;Password=REDACTED;")]
    [InlineData("sh|-c|curl http://h/?a=1&key=k --max-time 2", "sh|-c|curl http://h/?a=1&key=REDACTED --max-time 2")]
    [InlineData("app|--password|a b c", "app|--password|REDACTED")]
    [InlineData("psql|--no-password|-h|db", "psql|--no-password|-h|db")]
    [InlineData("curl|--no-session-id|http://h/", "curl|--no-session-id|http://h/")]
    [InlineData("sh|-c|redis-cli -a s3cret --no-auth-warning PING; redis-cli HELLO 3 AUTH app 's3cret'; ls AUTH x", "sh|-c|redis-cli -a REDACTED --no-auth-warning PING; redis-cli HELLO 3 AUTH REDACTED 'REDACTED'; ls AUTH x")]
    [InlineData("sh|-c|mysql -ps3cret shop && redis-cli -a 's3cret';", "sh|-c|mysql -pREDACTED shop && redis-cli -a 'REDACTED';")]
    [InlineData("psql|-c|alter user app password 'hunter2'", "psql|-c|alter user app password 'REDACTED'")]
    [InlineData("/usr/bin/perl|/usr/bin/psql|-c|create role x login password 'pw'", "/usr/bin/perl|/usr/bin/psql|-c|create role x login password 'REDACTED'")]
    [InlineData("mysql|-e|CREATE USER 'u'@'%' IDENTIFIED BY 'p\\'w'", "mysql|-e|CREATE USER 'u'@'%' IDENTIFIED BY 'REDACTED'")]
    [InlineData("sh|-c|ls /tmp/* && psql --echo-all -c \"alter role app with password 'pw'\"", "sh|-c|ls /tmp/* && psql --echo-all -c \"alter role app with password 'REDACTED'\"")]
    [InlineData("psql|-c|select password from users where name = 'bob'", "psql|-c|select password from users where name = 'bob'")]
    [InlineData("redis-cli|-p|6379|ACL|SETUSER|alice|on|>s3cret|~*|+@all", "redis-cli|-p|6379|ACL|SETUSER|alice|on|>REDACTED|~*|+@all")]
    [InlineData("redis-cli|acl|setuser|bob|<old|#abcd|!ef01|resetpass", "redis-cli|acl|setuser|bob|<REDACTED|#REDACTED|!REDACTED|resetpass")]
    [InlineData("sh|-c|redis-cli ACL SETUSER alice on '>s3cret' '~*'; ls >out", "sh|-c|redis-cli ACL SETUSER alice on '>REDACTED' '~*'; ls >out")]
    [InlineData("tool|ACL|SETUSER|>x", "tool|ACL|SETUSER|>x")]
    [InlineData("redis-cli|MIGRATE|h|6379|k|0|1000|AUTH2|app|s3cret", "redis-cli|MIGRATE|h|6379|k|0|1000|AUTH2|REDACTED|REDACTED")]
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

    /// <summary>
    /// Any command line, built from the pieces the rules look for, is read without an exception and keeps its
    /// length; where it holds redis-cli's -a and a value, the value is hidden whatever surrounds it.
    /// </summary>
    [Fact]
    public void AnyCommandLine_IsReadWithoutFailing_AndHidesThePasswordsItNames()
    {
        string[] pieces = ["redis-cli", "mysql", "sh", "-c", "-a", "-p", "-pX", "--no-auth-warning", "AUTH", "--password", "pass:", "http://u:p@h/?token=t",
            "a=b", "Password=", ";", "'", "\"", " ", "&&", "x", "=", ":", "Authorization: Bearer q", "\t", "-u", "s3cret", "identified by", "\\", "$$", "--", "/*"];
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(3000), Prop.ForAll<int[][]>(args =>
        {
            var argv = (args ?? []).Select(a => string.Concat((a ?? []).Select(p => pieces[(p & int.MaxValue) % pieces.Length]))).ToArray();
            var shown = ArgvRedactor.Redact(argv);
            bool hidden = true;
            for (int i = 1; i + 1 < argv.Length; i++)
            {
                // redis-cli -a s3cret: whatever else the line holds, the value is not shown as it was.
                if (argv[0] == "redis-cli" && argv[i] == "-a" && argv[i + 1] == "s3cret")
                {
                    hidden &= shown[i + 1] != "s3cret";
                }
            }
            return shown.Count == argv.Length && hidden;
        }));
    }
}
