using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace CallVault.Store.Sqlite;

/// <summary>
/// Open read connections, lent to one request at a time, each keeping its prepared statements. Opening a
/// connection, setting its page cache and preparing the list query cost about as much as reading a page of 50
/// calls (issue 3); a reader that is lent again skips all three. Microsoft.Data.Sqlite pools connections
/// but not statements, so the store keeps its own small pool.
/// </summary>
sealed class SqliteReaders(string connectionString) : IAsyncDisposable
{
    /// <summary>Idle readers kept open; more are opened when more requests read at once, and closed after.</summary>
    static readonly int MaxIdle = Math.Max(8, 4 * Environment.ProcessorCount);

    /// <summary>
    /// The idle readers, the one returned last on top: it is lent first, so requests that come one after another
    /// all get the same reader, whose page cache holds what they read. A ConcurrentBag gave each thread back the
    /// reader it had returned itself, so sequential requests went round several readers in turn (issue 3,
    /// session 9): each filled a cache of its own, faulting in new memory as it grew and reading again pages
    /// that another reader held (one agent's pages: 5-12 page faults per request instead of 3.5; 193-198 MB
    /// while serving instead of 217-225).
    /// </summary>
    readonly ConcurrentStack<Reader> _idle = new();
    volatile bool _disposed;

    public async ValueTask<Reader> RentAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryPop(out var reader))
            return reader;
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(ct);
            // 8 MiB rather than SQLite's 2 MiB: a page of 1000 calls touches about 2000 table pages (a leaf and an
            // overflow page per call), which then stay cached for the next page instead of being read again.
            // Grows only as pages are read; with up to MaxIdle readers this bounds their caches to 64 MiB, within
            // the 300 MB the server may use while serving (issue 3).
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA cache_size = -8192";
            await pragma.ExecuteNonQueryAsync(ct);
            // The query planner stability guarantee: plans never depend on the values bound. Without it SQLite
            // reads the bound LIMIT while planning, and then recompiles the statement on the first step after each
            // new binding, so every list request parsed and planned its SQL again (0.01-0.03 ms for most pages, 1.4
            // ms for the 6 kB of a latency range; issue 3). The plans of the list queries are the same either way:
            // SqliteListQuery chooses them with INDEXED BY and unary +, not from the values.
            var rc = raw.sqlite3_db_config(connection.Handle, raw.SQLITE_DBCONFIG_ENABLE_QPSG, 1, out _);
            if (rc != raw.SQLITE_OK)
                throw new SqliteException($"SQLite Error {rc}: cannot enable the query planner stability guarantee", rc);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        return new Reader(this, connection);
    }

    /// <summary>The idle readers, the next one lent first (tests).</summary>
    internal IReadOnlyList<Reader> Idle() => [.. _idle];

    void Return(Reader reader)
    {
        if (_disposed || _idle.Count >= MaxIdle)
        {
            reader.Close();
            return;
        }
        _idle.Push(reader);
        if (_disposed && _idle.TryPop(out var late))
            late.Close(); // disposed while this one was coming back
    }

    /// <summary>How many times SQLite recompiled the list statements of the idle readers (tests).</summary>
    internal long Recompilations() => _idle.Sum(reader => reader.Recompilations());

    public ValueTask DisposeAsync()
    {
        _disposed = true;
        while (_idle.TryPop(out var reader))
            reader.Close();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// A read connection on loan. <see cref="Command"/> hands out the connection's prepared statement for a SQL
    /// text; disposing gives the connection back, or closes it if the work failed midway.
    /// </summary>
    public sealed class Reader(SqliteReaders owner, SqliteConnection connection) : IAsyncDisposable
    {
        /// <summary>Distinct SQL texts kept prepared per connection; list queries vary with the filters set.</summary>
        const int MaxStatements = 128;

        readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
        readonly Dictionary<string, sqlite3_stmt> _statements = new(StringComparer.Ordinal);
        bool _completed;

        public SqliteConnection Connection => connection;

        /// <summary>The command for this SQL text, prepared on first use, with no parameters bound.</summary>
        public SqliteCommand Command(string sql)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                if (_commands.Count >= MaxStatements)
                    DropCommands();
                command = connection.CreateCommand();
                command.CommandText = sql;
                _commands.Add(sql, command);
            }
            command.Parameters.Clear();
            return command;
        }

        /// <summary>
        /// Runs a query whose only column is a document and appends each row's document to the page. This is the
        /// list path, so it works on SQLite's own statement (SQLitePCLRaw, which Microsoft.Data.Sqlite is built
        /// on): Microsoft.Data.Sqlite can only hand a blob out as a new array, and the array per document, not
        /// SQLite, was the larger cost of a page. Each document is copied once, from SQLite's page into the page.
        /// </summary>
        public void ReadDocuments(string sql, SqliteParameterCollection parameters, CallPage page)
        {
            var db = connection.Handle!;
            if (!_statements.TryGetValue(sql, out var statement))
            {
                if (_statements.Count >= MaxStatements)
                    DropStatements();
                Check(raw.sqlite3_prepare_v2(db, sql, out statement), db);
                _statements.Add(sql, statement);
            }
            try
            {
                foreach (SqliteParameter parameter in parameters)
                    Bind(statement, parameter, db);
                var clock = Stopwatch.StartNew();
                while (true)
                {
                    var rc = raw.sqlite3_step(statement);
                    if (rc == raw.SQLITE_ROW)
                    {
                        var document = raw.sqlite3_column_blob(statement, 0);
                        document.CopyTo(page.Append(document.Length));
                    }
                    else if (rc == raw.SQLITE_DONE)
                    {
                        return;
                    }
                    else if ((rc == raw.SQLITE_BUSY || rc == raw.SQLITE_LOCKED) && page.Count == 0 && clock.Elapsed.TotalSeconds < connection.DefaultTimeout)
                    {
                        // A checkpoint truncating the WAL holds readers off for a moment; wait like Microsoft.Data.Sqlite does.
                        raw.sqlite3_reset(statement);
                        Thread.Sleep(1);
                    }
                    else
                    {
                        Check(rc, db);
                    }
                }
            }
            finally
            {
                // Ends the statement's read transaction, so that checkpoints are not held back by an idle reader.
                raw.sqlite3_reset(statement);
                raw.sqlite3_clear_bindings(statement);
            }
        }

        static void Bind(sqlite3_stmt statement, SqliteParameter parameter, sqlite3 db)
        {
            var index = raw.sqlite3_bind_parameter_index(statement, parameter.ParameterName);
            if (index == 0)
                throw new InvalidOperationException($"the query has no parameter {parameter.ParameterName}");
            var rc = parameter.Value switch
            {
                null or DBNull => raw.sqlite3_bind_null(statement, index),
                long value => raw.sqlite3_bind_int64(statement, index, value),
                int value => raw.sqlite3_bind_int64(statement, index, value),
                bool value => raw.sqlite3_bind_int64(statement, index, value ? 1 : 0),
                double value => raw.sqlite3_bind_double(statement, index, value),
                string value => raw.sqlite3_bind_text(statement, index, value),
                var other => throw new InvalidOperationException($"cannot bind a {other.GetType().Name} to {parameter.ParameterName}"),
            };
            Check(rc, db);
        }

        static void Check(int rc, sqlite3 db)
        {
            if (rc != raw.SQLITE_OK && rc != raw.SQLITE_ROW && rc != raw.SQLITE_DONE)
                throw new SqliteException($"SQLite Error {rc}: {raw.sqlite3_errmsg(db).utf8_to_string()}", rc);
        }

        /// <summary>How many times SQLite recompiled this reader's list statements since they were prepared (tests).</summary>
        internal long Recompilations() =>
            _statements.Values.Sum(statement => (long)raw.sqlite3_stmt_status(statement, StatementStatusReprepare, 0));

        /// <summary>SQLITE_STMTSTATUS_REPREPARE, which SQLitePCLRaw has no name for.</summary>
        const int StatementStatusReprepare = 5;

        /// <summary>Marks the work done; only a completed reader goes back to the pool.</summary>
        public void Complete() => _completed = true;

        public ValueTask DisposeAsync()
        {
            if (_completed)
            {
                _completed = false;
                owner.Return(this);
            }
            else
            {
                Close();
            }
            return ValueTask.CompletedTask;
        }

        internal void Close()
        {
            DropCommands();
            DropStatements();
            connection.Dispose();
        }

        void DropStatements()
        {
            foreach (var statement in _statements.Values)
                statement.Dispose();
            _statements.Clear();
        }

        void DropCommands()
        {
            foreach (var command in _commands.Values)
                command.Dispose();
            _commands.Clear();
        }
    }
}
