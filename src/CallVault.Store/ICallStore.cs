using CallVault.Client.Models;

namespace CallVault.Store;

/// <summary>
/// Everything CallVault keeps: workspaces, their API keys and their calls. One implementation per database
/// (SQLite embedded, PostgreSQL); both pass the same contract tests. Every call operation is scoped to one
/// workspace, and every key and index is led by the workspace id, so a workspace can be a distribution
/// column (Citus) without changing a query.
/// </summary>
public interface ICallStore : IAsyncDisposable
{
    /// <summary>Creates the schema or migrates it to the current version.</summary>
    Task MigrateAsync(CancellationToken ct);

    Task<Workspace> GetOrCreateWorkspaceAsync(string name, CancellationToken ct);
    Task<Workspace?> FindWorkspaceAsync(string name, CancellationToken ct);

    Task AddApiKeyAsync(long workspaceId, string prefix, byte[] hash, CancellationToken ct);
    /// <summary>The key with this prefix, revoked or not; null when there is none.</summary>
    Task<ApiKeyRecord?> FindApiKeyAsync(string prefix, CancellationToken ct);
    Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken ct);
    /// <summary>Revokes the live key with this prefix; false when there is none.</summary>
    Task<bool> RevokeApiKeyAsync(string prefix, CancellationToken ct);
    Task<bool> HasAnyApiKeyAsync(CancellationToken ct);

    /// <summary>A named setting of a workspace (a webhook secret, a sync cursor...), or null.</summary>
    Task<string?> GetSettingAsync(long workspaceId, string name, CancellationToken ct);
    /// <summary>Sets (or, with null, removes) a named setting of a workspace.</summary>
    Task SetSettingAsync(long workspaceId, string name, string? value, CancellationToken ct);

    /// <summary>The stored JSON document of a call, or null.</summary>
    Task<byte[]?> GetCallAsync(long workspaceId, string callId, CancellationToken ct);

    /// <summary>
    /// Where a call stands (or stood, if deleted) in the list order; null if the workspace never had it.
    /// </summary>
    Task<CallPosition?> FindPositionAsync(long workspaceId, string callId, CancellationToken ct);

    /// <summary>The documents of one page of calls, in the requested order.</summary>
    Task<IReadOnlyList<byte[]>> ListCallsAsync(long workspaceId, CallQuery query, CancellationToken ct);

    /// <summary>
    /// <see cref="ListCallsAsync"/> as the JSON array served, in a pooled buffer the caller disposes. A store
    /// that can copy documents straight into it overrides this.
    /// </summary>
    async Task<CallPage> ListPageAsync(long workspaceId, CallQuery query, CancellationToken ct) =>
        CallPage.From(await ListCallsAsync(workspaceId, query, ct));

    /// <summary>
    /// <see cref="ListPageAsync"/> after the call <paramref name="paginationKey"/> names (its position as
    /// <see cref="FindPositionAsync"/> gives it; <c>query.After</c> is ignored); null when the workspace never had
    /// such a call. A store that can look the position up in the same round trip as the page overrides this.
    /// </summary>
    async Task<CallPage?> ListPageAfterAsync(long workspaceId, CallQuery query, string paginationKey, CancellationToken ct) =>
        await FindPositionAsync(workspaceId, paginationKey, ct) is { } after
            ? await ListPageAsync(workspaceId, query with { After = after }, ct)
            : null;

    /// <summary>
    /// Inserts or replaces calls by id, all or nothing. A call already opted out of sensitive data storage
    /// stays opted out. Returns the number of calls written.
    /// </summary>
    Task<int> UpsertCallsAsync(long workspaceId, IReadOnlyList<PreparedCall> calls, CancellationToken ct);

    /// <summary>
    /// Reads a call and writes what <paramref name="change"/> makes of it, in one transaction. The change is
    /// given the current document (null if there is no such call) and returns the new call, or null to leave
    /// things as they are. Returns the document stored afterwards (null if none).
    /// </summary>
    Task<byte[]?> MutateCallAsync(long workspaceId, string callId, Func<byte[]?, PreparedCall?> change, CancellationToken ct);

    /// <summary>
    /// <see cref="MutateCallAsync"/> for merging (webhook deliveries): the change is also given the call's merge
    /// state, bookkeeping kept beside the document and never served (null when the call has none or does not
    /// exist), and returns the new call with its new state, or null to leave things as they are. Other writes
    /// (upsert, mutate) leave the merge state as it is. Returns the document stored afterwards (null if none).
    /// </summary>
    Task<byte[]?> MergeCallAsync(long workspaceId, string callId, Func<StoredCall?, MergedCall?> change, CancellationToken ct);

    /// <summary>
    /// <see cref="MergeCallAsync"/> for a batch (a sync page), all or nothing, in one transaction: each call is
    /// read with its merge state (null if new) and <paramref name="merge"/> decides what is written, or null to
    /// leave the call as it is. Calls of one id are merged in the order given, each seeing the outcome of the
    /// one before. As with <see cref="UpsertCallsAsync"/>, a call already opted out stays opted out. The merge
    /// may be called more than once for a call (when the database asks for the transaction to be retried).
    /// Returns the number of calls written.
    /// </summary>
    Task<int> MergeCallsAsync(long workspaceId, IReadOnlyList<PreparedCall> calls, Func<StoredCall?, PreparedCall, MergedCall?> merge, CancellationToken ct);

    /// <summary>Deletes a call and all its data, leaving only its position for pagination; false if absent.</summary>
    Task<bool> DeleteCallAsync(long workspaceId, string callId, CancellationToken ct);
}

public sealed record Workspace(long Id, string Name);

public sealed record ApiKeyRecord(string Prefix, long WorkspaceId, byte[] Hash, bool Revoked);

public sealed record ApiKeyInfo(string Prefix, string Workspace, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    /// <summary>A key from a row of (prefix, workspace name, created_at, revoked_at), times in unix milliseconds.</summary>
    internal static ApiKeyInfo FromRow(System.Data.Common.DbDataReader row) => new(
        row.GetString(0),
        row.GetString(1),
        DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(2)),
        row.IsDBNull(3) ? null : DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(3)));
}

/// <summary>A stored call document with its merge state (see <see cref="ICallStore.MergeCallAsync"/>).</summary>
public sealed record StoredCall(byte[] Document, string? MergeState);

/// <summary>A call to store with its new merge state.</summary>
public sealed record MergedCall(PreparedCall Call, string MergeState);

/// <summary>A place in the list order: the sort key (start timestamp, or time first received) and the call id.</summary>
public readonly record struct CallPosition(long SortKey, string CallId);

/// <summary>One page request of list-calls, already validated.</summary>
public sealed record CallQuery(CallFilter? Filter, bool Ascending, int Limit, CallPosition? After);
