using CallVault.Store.Postgres;
using Npgsql;

namespace CallVault.Tests.Store;

/// <summary>The tuned Npgsql defaults (docs/scaling.md) apply where the operator set nothing, and never override what they set.</summary>
public class PostgresConnectionStringsTests
{
    [Theory]
    [InlineData("postgresql://callvault:secret@127.0.0.1:5432/calls")]
    [InlineData("Host=127.0.0.1;Username=callvault;Password=secret;Database=calls")]
    public void AConnectionThatSetsNothingGetsTheTunedDefaults(string database)
    {
        var built = new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.From(database));

        Assert.Equal(64, built.MaxAutoPrepare);
        Assert.Equal(Math.Max(4, 2 * Environment.ProcessorCount), built.MaxPoolSize);
        Assert.True(built.NoResetOnClose);
        Assert.Equal(64 * 1024, built.ReadBufferSize);
        Assert.Equal(64 * 1024, built.WriteBufferSize);
        Assert.Equal("calls", built.Database);
        Assert.Equal("secret", built.Password);
    }

    [Theory]
    [InlineData("postgresql://callvault:secret@127.0.0.1:5432/calls?Max%20Auto%20Prepare=0&No%20Reset%20On%20Close=false&Read%20Buffer%20Size=8192&Write%20Buffer%20Size=16384&Maximum%20Pool%20Size=100")]
    [InlineData("Host=127.0.0.1;Username=callvault;Max Auto Prepare=0;No Reset On Close=false;Read Buffer Size=8192;Write Buffer Size=16384;MaxPoolSize=100")]
    public void SettingsGivenByTheOperatorWinOverTheDefaults(string database)
    {
        var built = new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.From(database));

        Assert.Equal(0, built.MaxAutoPrepare);
        Assert.Equal(100, built.MaxPoolSize);
        Assert.False(built.NoResetOnClose);
        Assert.Equal(8192, built.ReadBufferSize);
        Assert.Equal(16384, built.WriteBufferSize);
    }

    [Theory]
    [InlineData("postgresql://callvault:secret@localhost:5433/calls?host=/run/postgresql", "/run/postgresql")]
    [InlineData("postgresql://callvault:secret@localhost:5433/calls?host=%2Ftmp%2Fcallvault-pg.abc&sslmode=disable", "/tmp/callvault-pg.abc")]
    public void AHostInTheQueryIsTheUnixSocketFolderAsForLibpq(string url, string folder)
    {
        // libpq's form for a server on the same machine: the folder of its socket, .s.PGSQL.<port> in it.
        var built = new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.From(url));

        Assert.Equal(folder, built.Host);
        Assert.Equal(5433, built.Port);
        Assert.Equal("calls", built.Database);
        Assert.Equal("callvault", built.Username);
    }
}
