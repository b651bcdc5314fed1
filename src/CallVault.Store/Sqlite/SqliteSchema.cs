namespace CallVault.Store.Sqlite;

/// <summary>
/// The SQLite schema as an ordered list of migrations; <c>PRAGMA user_version</c> records how many have run.
/// Append new migrations; never edit one that has shipped.
/// </summary>
static class SqliteSchema
{
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE workspaces (
            id         INTEGER PRIMARY KEY,
            name       TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL
        );

        CREATE TABLE api_keys (
            prefix       TEXT PRIMARY KEY,
            workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
            hash         BLOB NOT NULL,
            created_at   INTEGER NOT NULL,
            revoked_at   INTEGER
        );

        -- One row per call. doc is the call object exactly as served; the other columns are copies of the
        -- values that filters and the order read. sort_key is start_timestamp, or received_at until the
        -- call has one, so that new calls show first in the default order.
        CREATE TABLE calls (
            workspace_id         INTEGER NOT NULL,
            call_id              TEXT NOT NULL,
            sort_key             INTEGER NOT NULL,
            received_at          INTEGER NOT NULL,
            start_timestamp      INTEGER,
            agent_id             TEXT NOT NULL,
            call_status          TEXT NOT NULL,
            call_type            TEXT NOT NULL,
            direction            TEXT,
            from_number          TEXT,
            to_number            TEXT,
            user_sentiment       TEXT,
            call_successful      INTEGER,
            in_voicemail         INTEGER,
            disconnection_reason TEXT,
            duration_ms          INTEGER,
            e2e_p50              REAL,
            opted_out            INTEGER NOT NULL,
            doc                  BLOB NOT NULL,
            UNIQUE (workspace_id, call_id)
        );

        -- Every index is led by the workspace and ends with the list order, so that one filter with the
        -- default order reads about as many rows as it returns.
        CREATE INDEX calls_by_order        ON calls (workspace_id, sort_key, call_id);
        CREATE INDEX calls_by_agent        ON calls (workspace_id, agent_id, sort_key, call_id);
        CREATE INDEX calls_by_status       ON calls (workspace_id, call_status, sort_key, call_id);
        CREATE INDEX calls_by_type         ON calls (workspace_id, call_type, sort_key, call_id);
        CREATE INDEX calls_by_direction    ON calls (workspace_id, direction, sort_key, call_id) WHERE direction IS NOT NULL;
        CREATE INDEX calls_by_from         ON calls (workspace_id, from_number, sort_key, call_id) WHERE from_number IS NOT NULL;
        CREATE INDEX calls_by_to           ON calls (workspace_id, to_number, sort_key, call_id) WHERE to_number IS NOT NULL;
        CREATE INDEX calls_by_sentiment    ON calls (workspace_id, user_sentiment, sort_key, call_id) WHERE user_sentiment IS NOT NULL;
        CREATE INDEX calls_by_successful   ON calls (workspace_id, call_successful, sort_key, call_id) WHERE call_successful IS NOT NULL;
        CREATE INDEX calls_by_voicemail    ON calls (workspace_id, in_voicemail, sort_key, call_id) WHERE in_voicemail IS NOT NULL;
        CREATE INDEX calls_by_disconnect   ON calls (workspace_id, disconnection_reason, sort_key, call_id) WHERE disconnection_reason IS NOT NULL;
        CREATE INDEX calls_by_duration     ON calls (workspace_id, duration_ms) WHERE duration_ms IS NOT NULL;
        CREATE INDEX calls_by_e2e_p50      ON calls (workspace_id, e2e_p50) WHERE e2e_p50 IS NOT NULL;

        -- Where deleted calls stood, so that a deleted call still works as a pagination key. Holds no call data.
        CREATE TABLE deleted_calls (
            workspace_id INTEGER NOT NULL,
            call_id      TEXT NOT NULL,
            sort_key     INTEGER NOT NULL,
            PRIMARY KEY (workspace_id, call_id)
        ) WITHOUT ROWID;
        """,
        """
        -- Named settings of a workspace: webhook secrets, sync cursors.
        CREATE TABLE workspace_settings (
            workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
            name         TEXT NOT NULL,
            value        TEXT NOT NULL,
            PRIMARY KEY (workspace_id, name)
        ) WITHOUT ROWID;
        """,
        """
        -- Bookkeeping of webhook merging (which lifecycle event last wrote which field), beside the document
        -- and never served. Goes with the row when the call is deleted.
        ALTER TABLE calls ADD COLUMN merge_state TEXT;
        """,
        """
        -- Leaner indexes (issue 3: import rate and bytes on disk at a million calls). The list order is
        -- (sort_key, call_id), but the indexes end with sort_key alone: calls rarely share a start time, and
        -- SQLite sorts the few that do by call_id as it reads ("right part of ORDER BY"), so the 33 bytes of the
        -- call id need not be repeated in every index. Flags and enums with two or three common values
        -- (direction, call_type, call_successful, in_voicemail) lose their index: a page filtered on them
        -- reads the list order and skips what does not match, about as fast as an index would be. The two
        -- indexes most pages walk, the list order and the agent's, carry those small values (and, in the order,
        -- the duration and latency), so that a call a filter rejects costs an index entry, not a table row.
        DROP INDEX calls_by_order;
        DROP INDEX calls_by_agent;
        DROP INDEX calls_by_status;
        DROP INDEX calls_by_type;
        DROP INDEX calls_by_direction;
        DROP INDEX calls_by_from;
        DROP INDEX calls_by_to;
        DROP INDEX calls_by_sentiment;
        DROP INDEX calls_by_successful;
        DROP INDEX calls_by_voicemail;
        DROP INDEX calls_by_disconnect;

        CREATE INDEX calls_by_order      ON calls (workspace_id, sort_key, e2e_p50, duration_ms, call_status, call_successful, in_voicemail, direction);
        CREATE INDEX calls_by_agent      ON calls (workspace_id, agent_id, sort_key, call_status, call_successful, in_voicemail, direction, user_sentiment);
        CREATE INDEX calls_by_status     ON calls (workspace_id, call_status, sort_key);
        CREATE INDEX calls_by_from       ON calls (workspace_id, from_number, sort_key) WHERE from_number IS NOT NULL;
        CREATE INDEX calls_by_to         ON calls (workspace_id, to_number, sort_key) WHERE to_number IS NOT NULL;
        CREATE INDEX calls_by_sentiment  ON calls (workspace_id, user_sentiment, sort_key) WHERE user_sentiment IS NOT NULL;
        CREATE INDEX calls_by_disconnect ON calls (workspace_id, disconnection_reason, sort_key) WHERE disconnection_reason IS NOT NULL;
        """,
        $"""
        -- Range indexes that calls append to (issue 3: import rate). Indexed by value alone, every call written
        -- landed on a random page of each index, and at a million calls most inserts rewrote a page of each.
        -- Now each index is led by a coarse class of the value (ValueBuckets: 64 per doubling, an expression on
        -- the column) and ordered by sort_key inside it, so calls written in time order (an import, a sync, live
        -- webhooks) go to the end of their class; the exact value is the last column, checked on the index entry.
        -- Building them reads each row once and rewrites none.
        DROP INDEX calls_by_duration;
        DROP INDEX calls_by_e2e_p50;
        CREATE INDEX calls_by_duration ON calls (workspace_id, {ValueBuckets.Of("duration_ms")}, sort_key, duration_ms) WHERE duration_ms IS NOT NULL;
        CREATE INDEX calls_by_e2e_p50  ON calls (workspace_id, {ValueBuckets.Of("e2e_p50")}, sort_key, e2e_p50) WHERE e2e_p50 IS NOT NULL;
        """,
        """
        -- The call id at the end of the two indexes most pages walk (issue 3: 64 KiB pages). A page orders
        -- (rowid, sort_key, call_id) before it reads its documents; without the call id in the index, every call
        -- a branch considers was looked up in the table for it, and with 64 KiB table pages each lookup reads
        -- 64 KiB: a page of 1000 over two agents read some 3,000 pages. Now those branches read the index alone,
        -- and only the documents of the page are read from the table. 33 bytes per call in each index.
        DROP INDEX calls_by_order;
        DROP INDEX calls_by_agent;
        CREATE INDEX calls_by_order ON calls (workspace_id, sort_key, e2e_p50, duration_ms, call_status, call_successful, in_voicemail, direction, call_id);
        CREATE INDEX calls_by_agent ON calls (workspace_id, agent_id, sort_key, call_status, call_successful, in_voicemail, direction, user_sentiment, call_id);
        """,
    ];
}
