using System.Diagnostics;
using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Auth;
using CallVault.Client.Models;
using CallVault.Hosting;
using CallVault.Http;
using CallVault.Store;
using Microsoft.Extensions.Options;

namespace CallVault.Calls;

/// <summary>The Retell v2 call API: list, get, update, delete, register, plus CallVault's import.</summary>
static class CallsApi
{
    const int DefaultLimit = 50;
    const int MaxLimit = 1000;
    const int MaxFilterValues = 1000;

    public static IEndpointRouteBuilder MapCalls(this IEndpointRouteBuilder routes)
    {
        var v2 = routes.MapGroup("/v2").AddEndpointFilter<ApiExceptionFilter>();

        v2.MapPost("/list-calls", ListCalls).WithName("ListCalls").WithSummary("Lists calls with filters, an order, a page size and a cursor.");
        v2.MapGet("/get-call/{call_id}", GetCall).WithName("GetCall").WithSummary("Gets one call.");
        v2.MapPatch("/update-call/{call_id}", UpdateCall).WithName("UpdateCall").WithSummary("Replaces metadata or opts a call out of sensitive data storage.");
        v2.MapDelete("/delete-call/{call_id}", DeleteCall).WithName("DeleteCall").WithSummary("Deletes a call and all its data.");
        v2.MapPost("/register-phone-call", RegisterPhoneCall).WithName("RegisterPhoneCall").WithSummary("Registers a phone call and returns its new id.");
        v2.MapPost("/import-calls", ImportCalls).WithName("ImportCalls").WithSummary("Inserts or replaces calls, all or nothing.");
        return routes;
    }

    static async Task<IResult> ListCalls(HttpRequest request, ClaimsPrincipal user, ICallStore store, IOptions<CallVaultOptions> options, CancellationToken ct)
    {
        var body = await RequestBody.ReadJsonAsync(request, options.Value.MaxBodyBytes, CallVaultJsonContext.Default.ListCallsRequest, new ListCallsRequest(), ct);
        var workspace = user.WorkspaceId();
        var started = Stopwatch.GetTimestamp();
        var query = ToQuery(body);
        var page = body.PaginationKey is { } key
            ? await store.ListPageAfterAsync(workspace, query, key, ct)
                ?? throw new ApiException(StatusCodes.Status400BadRequest, $"pagination_key {key} names no call of this workspace")
            : await store.ListPageAsync(workspace, query, ct);
        if (options.Value.ServerTiming)
            request.HttpContext.Response.Headers["Server-Timing"] = ServerTiming(Stopwatch.GetElapsedTime(started), page.Source);
        return RawJsonResult.Page(page);
    }

    /// <summary>The Server-Timing header of a list-calls answer (CallVaultOptions.ServerTiming).</summary>
    internal static string ServerTiming(TimeSpan store, PageSource source) => string.Create(CultureInfo.InvariantCulture,
        $"store;dur={store.TotalMilliseconds:F3}, documents;desc=\"{source switch
        {
            PageSource.Cache => "cache",
            PageSource.CacheAndDatabase => "cache+database",
            _ => "database",
        }}\"");

    static async Task<IResult> GetCall(string call_id, ClaimsPrincipal user, ICallStore store, CancellationToken ct) =>
        await store.GetCallAsync(user.WorkspaceId(), call_id, ct) is { } doc ? RawJsonResult.One(doc) : ApiErrors.NotFound(call_id);

    static async Task<IResult> UpdateCall(string call_id, HttpRequest request, ClaimsPrincipal user, ICallStore store, IOptions<CallVaultOptions> options, CancellationToken ct)
    {
        UpdateCallRequest update;
        bool removesMetadata;
        using (var body = await RequestBody.ReadPooledAsync(request, options.Value.MaxBodyBytes, ct))
        {
            update = RequestBody.ParseJson(body.Memory.Span, CallVaultJsonContext.Default.UpdateCallRequest, new UpdateCallRequest());
            // "metadata": null removes the call's metadata, as null removes a member in a JSON merge patch.
            removesMetadata = update.Metadata is null && RequestBody.IsExplicitNull(body.Memory.Span, "metadata"u8);
        }
        var doc = await store.MutateCallAsync(user.WorkspaceId(), call_id, current => current is null ? null : CallDocuments.ApplyUpdate(current, update, removesMetadata), ct);
        return doc is null ? ApiErrors.NotFound(call_id) : RawJsonResult.One(doc);
    }

    static async Task<IResult> DeleteCall(string call_id, ClaimsPrincipal user, ICallStore store, CancellationToken ct) =>
        await store.DeleteCallAsync(user.WorkspaceId(), call_id, ct) ? TypedResults.NoContent() : ApiErrors.NotFound(call_id);

    static async Task<IResult> RegisterPhoneCall(HttpRequest request, ClaimsPrincipal user, ICallStore store, IOptions<CallVaultOptions> options, CancellationToken ct)
    {
        var body = await RequestBody.ReadJsonAsync<RegisterPhoneCallRequest?>(request, options.Value.MaxBodyBytes, CallVaultJsonContext.Default.RegisterPhoneCallRequest, null, ct)
            ?? throw new ApiException(StatusCodes.Status400BadRequest, "the body must be a JSON object with agent_id");
        if (string.IsNullOrEmpty(body.AgentId))
            throw new ApiException(StatusCodes.Status400BadRequest, "agent_id must not be empty");
        var node = new JsonObject
        {
            ["call_type"] = "phone_call",
            ["call_id"] = NewCallId(),
            ["agent_id"] = body.AgentId,
            ["call_status"] = "registered",
        };
        if (body.Direction is { } direction)
            node["direction"] = WireEnum.ToWire(direction);
        if (body.FromNumber is { } from)
            node["from_number"] = from;
        if (body.ToNumber is { } to)
            node["to_number"] = to;
        if (body.Metadata is { } metadata)
            node["metadata"] = JsonNode.Parse(metadata.GetRawText());
        if (body.RetellLlmDynamicVariables is { } variables)
        {
            // From the raw text, like metadata: text that cannot be written is then reported by FromNode as a 400.
            var nodes = new JsonObject();
            foreach (var (name, value) in variables)
                nodes[name] = JsonNode.Parse(value.GetRawText());
            node["retell_llm_dynamic_variables"] = nodes;
        }
        var call = CallDocuments.FromNode(node);
        await store.UpsertCallsAsync(user.WorkspaceId(), [call], ct);
        return RawJsonResult.One(call.Document, StatusCodes.Status201Created);
    }

    static async Task<IResult> ImportCalls(HttpRequest request, ClaimsPrincipal user, ICallStore store, IOptions<CallVaultOptions> options, CancellationToken ct)
    {
        var limits = options.Value;
        // The calls the fast path prepares hold slices of the body: it goes back to the pool only after the write.
        using var body = await RequestBody.ReadPooledAsync(request, limits.MaxImportBytes, ct);
        // One pass over the bytes for a body of valid calls; anything else (and so every error) is answered by the
        // element-by-element path, which names every bad record.
        var calls = CallDocuments.TryPrepareAll(body.Memory, limits.MaxImportCalls);
        if (calls is null)
        {
            var error = PrepareEach(body.Memory, limits, out calls);
            if (error is not null)
                return error;
        }
        var imported = await store.UpsertCallsAsync(user.WorkspaceId(), calls, ct);
        return TypedResults.Json(new ImportCallsResult { Imported = imported }, CallVaultJsonContext.Default.ImportCallsResult);
    }

    /// <summary>Prepares the calls of an import body one element at a time; the error answer when any is invalid.</summary>
    static IResult? PrepareEach(ReadOnlyMemory<byte> body, CallVaultOptions limits, out List<PreparedCall> calls)
    {
        calls = [];
        using var document = RequestBody.ParseDocument(body);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Array)
            return ApiErrors.BadRequest("the body must be a JSON array of call objects");
        var count = root.GetArrayLength();
        if (count > limits.MaxImportCalls)
            return ApiErrors.Result(StatusCodes.Status413PayloadTooLarge, $"{count} calls in one request; at most {limits.MaxImportCalls} are allowed");
        calls.Capacity = count;
        var errors = new List<RecordError>();
        var index = 0;
        foreach (var element in root.EnumerateArray())
        {
            try
            {
                calls.Add(CallDocuments.Prepare(element));
            }
            catch (CallValidationException ex)
            {
                errors.Add(new RecordError { Index = index, CallId = CallIdOf(element), Message = ex.Message });
            }
            index++;
        }
        if (errors.Count == 0)
            return null;
        var first = errors[0];
        return ApiErrors.Result(StatusCodes.Status400BadRequest,
            $"{errors.Count} of {count} calls are invalid, nothing was imported; first: call {first.Index}: {first.Message}", errors);
    }

    /// <summary>Validates a list request and turns it into a store query; the store resolves the pagination key.</summary>
    static CallQuery ToQuery(ListCallsRequest body)
    {
        var limit = body.Limit ?? DefaultLimit;
        if (limit is < 1 or > MaxLimit)
            throw new ApiException(StatusCodes.Status400BadRequest, $"limit must be between 1 and {MaxLimit}, got {limit}");
        if (body.FilterCriteria is { } filter)
            CheckFilter(filter);
        return new CallQuery(body.FilterCriteria, body.SortOrder == SortOrder.Ascending, limit, After: null);
    }

    static void CheckFilter(CallFilter filter)
    {
        CheckStrings("agent_id", filter.AgentId);
        CheckCount("call_status", filter.CallStatus?.Count);
        CheckCount("call_type", filter.CallType?.Count);
        CheckCount("direction", filter.Direction?.Count);
        CheckStrings("from_number", filter.FromNumber);
        CheckStrings("to_number", filter.ToNumber);
        CheckCount("user_sentiment", filter.UserSentiment?.Count);
        CheckCount("call_successful", filter.CallSuccessful?.Count);
        CheckCount("in_voicemail", filter.InVoicemail?.Count);
        CheckCount("disconnection_reason", filter.DisconnectionReason?.Count);
    }

    // The JSON reader lets null into a list of strings; it would match nothing and fail to bind as one value.
    static void CheckStrings(string field, IReadOnlyList<string>? values)
    {
        if (values is null)
            return;
        CheckCount(field, values.Count);
        for (var i = 0; i < values.Count; i++)
            if (values[i] is null)
                throw new ApiException(StatusCodes.Status400BadRequest, $"filter_criteria.{field}[{i}]: must be a string, not null");
    }

    static void CheckCount(string field, int? count)
    {
        if (count > MaxFilterValues)
            throw new ApiException(StatusCodes.Status400BadRequest, $"filter_criteria.{field} has {count} values; at most {MaxFilterValues} are allowed");
    }

    static string? CallIdOf(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("call_id", out var id) || id.ValueKind != JsonValueKind.String)
            return null;
        try
        {
            return id.GetString();
        }
        catch (InvalidOperationException)
        {
            return null; // not valid Unicode text (a lone surrogate escape): the record's error says so
        }
    }

    const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>32 characters from a cryptographic random source, like Retell's ids.</summary>
    static string NewCallId() => RandomNumberGenerator.GetString(IdAlphabet, 32);
}
