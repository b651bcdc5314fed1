using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Store;

namespace CallVault.Sync;

/// <summary>What one sync run did.</summary>
sealed record SyncResult(int Copied, int Refreshed, TimeSpan Elapsed);

/// <summary>
/// Copies every call of a source into a workspace by walking list-calls in ascending order with
/// pagination_key. After each committed page the cursor (the last call id) is saved in the workspace's
/// settings, so a run that is killed resumes where it stopped, and rerunning only fetches what is new. Calls
/// that were registered or ongoing when copied are remembered and fetched again at the start of the next run,
/// until the source reports them ended. Each copy is merged into the stored call as a delivery at the copy's
/// own lifecycle stage (<see cref="CallMerge.MergeFromSource"/>), one transaction per page: a page copied
/// twice changes nothing, an older copy does not undo what a webhook delivery brought, and the metadata and
/// opt-out the user set with update-call stay.
/// </summary>
sealed class CallSync(ICallStore store, long workspaceId, SourceClient source, Uri sourceUri, int pageSize, long? since)
{
    /// <summary>Called after each stored page with the calls copied so far.</summary>
    public Action<int>? Progress { get; init; }

    /// <summary>Forget where the last run stopped and walk from the first call (pending refreshes are kept).</summary>
    public bool Restart { get; init; }

    public string SettingName => "sync:" + sourceUri.GetLeftPart(UriPartial.Path).TrimEnd('/');

    public async Task<SyncResult> RunAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var cursor = await LoadAsync(ct);
        if (cursor.Since != since || Restart)
            cursor = cursor with { Since = since, After = null }; // another range: walk it from its start

        (cursor, var refreshed) = await RefreshPendingAsync(cursor, ct);
        var copied = 0;
        while (true)
        {
            var body = new JsonObject { ["sort_order"] = "ascending", ["limit"] = pageSize };
            if (cursor.After is { } after)
                body["pagination_key"] = after;
            if (since is { } lower)
                body["filter_criteria"] = new JsonObject { ["start_timestamp"] = new JsonObject { ["lower_threshold"] = lower } };
            using var page = await source.ListCallsAsync(body, ct);
            if (page.RootElement.ValueKind != JsonValueKind.Array)
                throw new SyncException("the source's list-calls answer is not a JSON array");
            var calls = Prepare(page.RootElement.EnumerateArray());
            if (calls.Count == 0)
                break;
            await store.MergeCallsAsync(workspaceId, calls, CallMerge.MergeFromSource, ct);
            cursor = Track(cursor, calls) with { After = calls[^1].CallId };
            await SaveAsync(cursor, ct);
            copied += calls.Count;
            Progress?.Invoke(copied);
            if (calls.Count < pageSize)
                break;
        }
        return new SyncResult(copied, refreshed, clock.Elapsed);
    }

    async Task<(Cursor, int)> RefreshPendingAsync(Cursor cursor, CancellationToken ct)
    {
        if (cursor.Pending.Count == 0)
            return (cursor, 0);
        var fresh = new List<PreparedCall>();
        var gone = new List<string>();
        foreach (var id in cursor.Pending)
        {
            using var doc = await source.GetCallAsync(id, ct);
            if (doc is null)
                gone.Add(id);
            else
                fresh.Add(Prepare([doc.RootElement])[0]);
        }
        if (fresh.Count > 0)
            await store.MergeCallsAsync(workspaceId, fresh, CallMerge.MergeFromSource, ct);
        var next = Track(cursor, fresh);
        next = next with { Pending = [.. next.Pending.Except(gone)] };
        await SaveAsync(next, ct);
        return (next, fresh.Count);
    }

    /// <summary>Remembers calls that are not over yet, forgets those that are.</summary>
    static Cursor Track(Cursor cursor, IReadOnlyList<PreparedCall> calls)
    {
        var pending = new SortedSet<string>(cursor.Pending, StringComparer.Ordinal);
        foreach (var call in calls)
        {
            if (call.Columns.CallStatus is "registered" or "ongoing")
                pending.Add(call.CallId);
            else
                pending.Remove(call.CallId);
        }
        return cursor with { Pending = [.. pending] };
    }

    static List<PreparedCall> Prepare(IEnumerable<JsonElement> elements)
    {
        var calls = new List<PreparedCall>();
        foreach (var element in elements)
        {
            try
            {
                calls.Add(CallDocuments.Prepare(element));
            }
            catch (CallValidationException ex)
            {
                var id = element.ValueKind == JsonValueKind.Object && element.TryGetProperty("call_id", out var v) ? v.ToString() : "?";
                throw new SyncException($"call {id} from the source cannot be stored: {ex.Message}");
            }
        }
        return calls;
    }

    sealed record Cursor(long? Since, string? After, List<string> Pending);

    async Task<Cursor> LoadAsync(CancellationToken ct)
    {
        var json = await store.GetSettingAsync(workspaceId, SettingName, ct);
        if (json is null)
            return new Cursor(since, null, []);
        var node = JsonNode.Parse(json)!.AsObject();
        return new Cursor(
            (long?)node["since"],
            (string?)node["after"],
            [.. (node["pending"]?.AsArray() ?? []).Select(p => (string)p!)]);
    }

    Task SaveAsync(Cursor cursor, CancellationToken ct)
    {
        var node = new JsonObject
        {
            ["since"] = cursor.Since,
            ["after"] = cursor.After,
            ["pending"] = new JsonArray([.. cursor.Pending.Select(p => (JsonNode)p)]),
        };
        return store.SetSettingAsync(workspaceId, SettingName, node.ToJsonString(), ct);
    }
}
