using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace CallVault.Store.Sqlite;

/// <summary>
/// A statement that writes one call (an insert, or an insert that replaces), prepared on the writer's connection
/// for one transaction and bound through SQLite's own interface (SQLitePCLRaw, which Microsoft.Data.Sqlite runs
/// on). Microsoft.Data.Sqlite binds a blob only from an array of its own, and boxes every value; here the
/// document is bound from its span, which for an import is a slice of the request body (issue 3: import rate).
/// </summary>
sealed class SqliteCallWrite : IDisposable
{
    /// <summary>The statement's parameters, in the order <see cref="Write"/> binds them.</summary>
    public static readonly string[] Parameters =
    [
        "$ws", "$id", "$now", "$start", "$agent", "$status", "$type", "$direction", "$from", "$to", "$sentiment",
        "$successful", "$voicemail", "$disconnection", "$duration", "$e2e", "$opted_out", "$doc",
    ];

    readonly sqlite3 _db;
    readonly sqlite3_stmt _statement;
    readonly int[] _index;

    /// <param name="connection">The writer, in its transaction.</param>
    /// <param name="sql">An INSERT of one call with the <see cref="Parameters"/>.</param>
    public SqliteCallWrite(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v2(_db, sql, out _statement), _db);
        _index = new int[Parameters.Length];
        for (var i = 0; i < Parameters.Length; i++)
        {
            _index[i] = raw.sqlite3_bind_parameter_index(_statement, Parameters[i]);
            if (_index[i] == 0)
                throw new ArgumentException($"the statement has no parameter {Parameters[i]}", nameof(sql));
        }
    }

    /// <summary>Writes the call; false when the statement wrote no row (an insert of a call that is stored already).</summary>
    public bool Write(long workspaceId, PreparedCall call, long now)
    {
        var c = call.Columns;
        try
        {
            Int(0, workspaceId);
            Text(1, call.CallId);
            Int(2, now);
            Int(3, c.StartTimestamp);
            Text(4, c.AgentId);
            Text(5, c.CallStatus);
            Text(6, c.CallType);
            Text(7, c.Direction);
            Text(8, c.FromNumber);
            Text(9, c.ToNumber);
            Text(10, c.UserSentiment);
            Int(11, c.CallSuccessful is { } successful ? (successful ? 1 : 0) : null);
            Int(12, c.InVoicemail is { } voicemail ? (voicemail ? 1 : 0) : null);
            Text(13, c.DisconnectionReason);
            Int(14, c.DurationMs);
            Check(c.E2eLatencyP50 is { } e2e ? raw.sqlite3_bind_double(_statement, _index[15], e2e) : raw.sqlite3_bind_null(_statement, _index[15]));
            Int(16, c.OptedOut ? 1 : 0);
            Check(raw.sqlite3_bind_blob(_statement, _index[17], call.Json.Span));
            var rc = raw.sqlite3_step(_statement);
            if (rc != raw.SQLITE_DONE)
                SqliteException.ThrowExceptionForRC(rc, _db);
            return raw.sqlite3_changes(_db) == 1;
        }
        finally
        {
            raw.sqlite3_reset(_statement);
            raw.sqlite3_clear_bindings(_statement);
        }
    }

    void Int(int parameter, long? value) =>
        Check(value is { } v ? raw.sqlite3_bind_int64(_statement, _index[parameter], v) : raw.sqlite3_bind_null(_statement, _index[parameter]));

    void Text(int parameter, string? value) =>
        Check(value is null ? raw.sqlite3_bind_null(_statement, _index[parameter]) : raw.sqlite3_bind_text(_statement, _index[parameter], value));

    void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
            SqliteException.ThrowExceptionForRC(rc, _db);
    }

    public void Dispose() => _statement.Dispose();
}
