using Tattle.Protocols.Sql;

namespace Tattle.Tests.Protocols.Sql;

/// <summary>
/// The statement forms that carry passwords, as PostgreSQL's and MariaDB/MySQL's manuals spell them (CREATE/ALTER
/// ROLE, USER MAPPING, SUBSCRIPTION; CREATE/ALTER USER, SET PASSWORD, CHANGE MASTER/REPLICATION SOURCE), and text
/// that only looks like them. The parsers' captures (testdata/postgres, testdata/mysql "passwords") check the same
/// on real wire bytes.
/// </summary>
public sealed class SqlSecretsTests
{
    [Theory]
    [InlineData("CREATE USER u WITH PASSWORD 'p''q'", "CREATE USER u WITH PASSWORD 'REDACTED'")]
    [InlineData("alter role u with login encrypted password 'p' valid until '2030-01-01'",
        "alter role u with login encrypted password 'REDACTED' valid until '2030-01-01'")]
    [InlineData("alter role u password E'p\\'q' login", "alter role u password E'REDACTED' login")]
    [InlineData("create role u password $$p'q$$ login", "create role u password $$REDACTED$$ login")]
    [InlineData("create role u password $pw$p$pw$; select $1", "create role u password $pw$REDACTED$pw$; select $1")]
    [InlineData("CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password 'p')",
        "CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password 'REDACTED')")]
    [InlineData("CREATE SUBSCRIPTION s CONNECTION 'host=h user=u password=p dbname=d' PUBLICATION pub",
        "CREATE SUBSCRIPTION s CONNECTION 'host=h user=u password=REDACTED dbname=d' PUBLICATION pub")]
    [InlineData("select dblink_connect('postgresql://u:p@h:5432/d?password=q')",
        "select dblink_connect('postgresql://u:REDACTED@h:5432/d?password=REDACTED')")]
    [InlineData("select id from users where password = 'p'", "select id from users where password = 'REDACTED'")]
    public void PostgreSqlPasswordsAreRedacted(string sql, string expected) =>
        Assert.Equal(expected, SqlSecrets.Redact(sql, SqlDialect.PostgreSql));

    [Theory]
    [InlineData("CREATE USER 'u'@'%' IDENTIFIED BY 'p\\'q'", "CREATE USER 'u'@'%' IDENTIFIED BY 'REDACTED'")]
    [InlineData("ALTER USER u IDENTIFIED WITH caching_sha2_password BY \"p\"", "ALTER USER u IDENTIFIED WITH caching_sha2_password BY \"REDACTED\"")]
    [InlineData("CREATE USER u IDENTIFIED WITH mysql_native_password AS '*2470C0C06DEE'",
        "CREATE USER u IDENTIFIED WITH mysql_native_password AS 'REDACTED'")]
    [InlineData("create user u identified via ed25519 using 'hash'", "create user u identified via ed25519 using 'REDACTED'")]
    [InlineData("GRANT ALL ON *.* TO u IDENTIFIED BY _utf8mb4'p'", "GRANT ALL ON *.* TO u IDENTIFIED BY _utf8mb4'REDACTED'")]
    [InlineData("SET PASSWORD FOR 'u'@'h' = 'p'", "SET PASSWORD FOR 'u'@'h' = 'REDACTED'")]
    [InlineData("set password = password('p')", "set password = password('REDACTED')")]
    [InlineData("CHANGE MASTER TO MASTER_HOST='h', MASTER_USER='u', MASTER_PASSWORD='p', MASTER_PORT=3306",
        "CHANGE MASTER TO MASTER_HOST='h', MASTER_USER='u', MASTER_PASSWORD='REDACTED', MASTER_PORT=3306")]
    [InlineData("CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = 'p'", "CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = 'REDACTED'")]
    [InlineData("select 1; create user x identified by 'p'", "select 1; create user x identified by 'REDACTED'")]
    public void MySqlPasswordsAreRedacted(string sql, string expected) =>
        Assert.Equal(expected, SqlSecrets.Redact(sql, SqlDialect.MySql));

    [Theory]
    [InlineData("select password from users where name = 'bob'", SqlDialect.PostgreSql)]
    [InlineData("select password_hash from users where name = 'bob'", SqlDialect.PostgreSql)]
    [InlineData("select 'it''s' as password", SqlDialect.PostgreSql)]
    [InlineData("select 1 -- password 'p'\n, 2", SqlDialect.PostgreSql)]
    [InlineData("select 1 /* identified by 'p' */, 2", SqlDialect.PostgreSql)]
    [InlineData("select 'passwords=none' as note", SqlDialect.PostgreSql)]
    [InlineData("create function check_password(p text) returns bool as $$ select length(p) > 8 $$ language sql", SqlDialect.PostgreSql)]
    [InlineData("SET @note = 'password'", SqlDialect.MySql)]
    [InlineData("select 'identified by' # password 'p'\n, 1", SqlDialect.MySql)]
    [InlineData("SET NAMES utf8mb4; select 'by' as identified", SqlDialect.MySql)]
    public void TextThatOnlyLooksLikeAPasswordIsKept(string sql, SqlDialect dialect) =>
        Assert.Equal(sql, SqlSecrets.Redact(sql, dialect));

    [Fact]
    public void WithoutTheWordsTheSameStringComesBack()
    {
        string sql = "select * from t where name = 'bob'";
        Assert.Same(sql, SqlSecrets.Redact(sql, SqlDialect.PostgreSql));
        Assert.Same(sql, SqlSecrets.Redact(sql, SqlDialect.MySql));
    }

    [Theory]
    [InlineData("alter user u password 'p", "alter user u password 'REDACTED")]
    [InlineData("alter user u password $$p", "alter user u password $$REDACTED")]
    [InlineData("alter user u password", "alter user u password")]
    [InlineData("alter user u password E'", "alter user u password E'")]
    public void AStatementCutInsideItsPasswordLosesTheRest(string sql, string expected) =>
        Assert.Equal(expected, SqlSecrets.Redact(sql, SqlDialect.PostgreSql));
}
