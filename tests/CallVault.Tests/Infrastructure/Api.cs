using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CallVault.Tests.Infrastructure;

/// <summary>Small helpers for talking JSON to the API and asserting what it answers.</summary>
public static class Api
{
    /// <summary>Sends <paramref name="json"/> exactly as written (no serializer in between), with a length.</summary>
    public static Task<HttpResponseMessage> SendJsonAsync(this HttpClient client, HttpMethod method, string path, string json)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return client.SendAsync(new HttpRequestMessage(method, path) { Content = content });
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, string json) =>
        client.SendJsonAsync(HttpMethod.Post, path, json);

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, JsonNode node) =>
        client.SendJsonAsync(HttpMethod.Post, path, node.ToJsonString());

    public static Task<HttpResponseMessage> PatchJsonAsync(this HttpClient client, string path, string json) =>
        client.SendJsonAsync(HttpMethod.Patch, path, json);

    /// <summary>Imports calls and asserts that all of them were imported.</summary>
    public static async Task ImportAsync(this HttpClient client, params JsonObject[] calls)
    {
        var response = await client.PostJsonAsync("/v2/import-calls", new JsonArray([.. calls.Select(c => (JsonNode)c.DeepClone())]));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"import answered {(int)response.StatusCode}: {body}");
        Assert.Equal(calls.Length, JsonDocument.Parse(body).RootElement.GetProperty("imported").GetInt32());
    }

    /// <summary>Posts a list-calls body and returns the call ids of the page, asserting a 200.</summary>
    public static async Task<string[]> ListIdsAsync(this HttpClient client, string body = "{}")
    {
        var calls = await client.ListAsync(body);
        return [.. calls.EnumerateArray().Select(c => c.GetProperty("call_id").GetString()!)];
    }

    public static async Task<JsonElement> ListAsync(this HttpClient client, string body = "{}")
    {
        var response = await client.PostJsonAsync("/v2/list-calls", body);
        return await OkJsonAsync(response);
    }

    /// <summary>The body of a 2xx answer as JSON; fails the test with the body otherwise.</summary>
    public static async Task<JsonElement> OkJsonAsync(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        // A stored call may nest 64 levels; inside a list that is one more than the parser's default.
        return JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 256 }).RootElement.Clone();
    }

    /// <summary>Asserts an error answer with the status and a non-empty JSON message; returns the error body.</summary>
    public static async Task<JsonElement> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        var body = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal(JsonValueKind.String, body.GetProperty("message").ValueKind);
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()));
        return body;
    }

    public static async Task<JsonElement> GetCallAsync(this HttpClient client, string callId) =>
        await OkJsonAsync(await client.GetAsync("/v2/get-call/" + Uri.EscapeDataString(callId)));

    public static async Task<int> CountAllAsync(this HttpClient client)
    {
        var count = 0;
        string? key = null;
        while (true)
        {
            var page = await client.ListIdsAsync(ListBody(limit: 1000, paginationKey: key));
            count += page.Length;
            if (page.Length < 1000)
                return count;
            key = page[^1];
        }
    }

    /// <summary>A list-calls body built from its parts; null parts are left out.</summary>
    public static string ListBody(JsonObject? filter = null, string? sortOrder = null, int? limit = null, string? paginationKey = null)
    {
        var body = new JsonObject();
        if (filter is not null)
            body["filter_criteria"] = filter.DeepClone();
        if (sortOrder is not null)
            body["sort_order"] = sortOrder;
        if (limit is not null)
            body["limit"] = limit;
        if (paginationKey is not null)
            body["pagination_key"] = paginationKey;
        return body.ToJsonString();
    }
}
