namespace CallVault.Tests.Infrastructure;

/// <summary>
/// A temporary folder with a SQLite database path in it, for tests about the SQLite files themselves
/// (durability, erasure); everything else goes through <see cref="TestDatabase"/>.
/// </summary>
public sealed class SqliteFolder : IDisposable
{
    readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("callvault-sqlite-");

    public string DatabasePath => Path.Combine(_folder.FullName, "calls.db");

    /// <summary>Settings that point an in-process app at this database.</summary>
    public Dictionary<string, string?> AppSettings => new() { ["CallVault:Database"] = DatabasePath };

    /// <summary>The bytes of the database file and of its WAL (and shared-memory index), as they are now.</summary>
    public IReadOnlyDictionary<string, byte[]> ReadFiles()
    {
        var files = new Dictionary<string, byte[]>();
        foreach (var path in Directory.GetFiles(_folder.FullName, "calls.db*"))
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[Path.GetFileName(path)] = copy.ToArray();
        }
        return files;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { _folder.Delete(recursive: true); } catch (IOException) { }
    }
}
