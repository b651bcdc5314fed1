using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Store;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Store;

/// <summary>
/// Several <c>serve</c> processes (the real executable on real ports) on one database behave as one service.
/// On PostgreSQL that is how CallVault scales out; on SQLite it is several processes on one file.
/// </summary>
public class SeveralServersTests
{
    /// <summary>A <c>CallVault.dll serve</c> process on a free loopback port.</summary>
    sealed class Server : IAsyncDisposable
    {
        readonly Process _process;
        readonly StringBuilder _output = new();
        public HttpClient Client { get; }

        Server(Process process, HttpClient client)
        {
            _process = process;
            Client = client;
        }

        public string Output { get { lock (_output) return _output.ToString(); } }

        public static async Task<Server> StartAsync(string database, string key)
        {
            var port = FreePort();
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "CallVault.dll"), "serve", "--urls", $"http://127.0.0.1:{port}" })
                start.ArgumentList.Add(arg);
            start.Environment["CALLVAULT_DB"] = database; // not on the command line: it may hold a password
            var process = Process.Start(start)!;
            var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var server = new Server(process, client);
            process.OutputDataReceived += (_, e) => { lock (server._output) server._output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { lock (server._output) server._output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (true)
            {
                if (process.HasExited)
                    throw new InvalidOperationException($"serve exited with {process.ExitCode}:\n{server.Output}");
                try
                {
                    if ((await client.GetAsync("/healthz")).IsSuccessStatusCode)
                        return server;
                }
                catch (HttpRequestException) { }
                if (DateTime.UtcNow > deadline)
                {
                    await server.DisposeAsync();
                    throw new TimeoutException($"serve did not answer /healthz within 90 s:\n{server.Output}");
                }
                await Task.Delay(100);
            }
        }

        static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }

    sealed class Service : IAsyncDisposable
    {
        public required TestDatabase Database { get; init; }
        public required Server[] Servers { get; init; }

        public static async Task<Service> StartAsync(int servers)
        {
            var database = await TestDatabase.CreateAsync();
            string key;
            await using (var store = await CallStores.OpenAsync(database.ConnectionString, CancellationToken.None))
                key = await ApiKeys.CreateAsync(store, "acme", CancellationToken.None);
            // Started together, so that their migrations race too.
            var started = await Task.WhenAll(Enumerable.Range(0, servers).Select(_ => Server.StartAsync(database.ConnectionString, key)));
            return new Service { Database = database, Servers = started };
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var server in Servers)
                await server.DisposeAsync();
            await Database.DisposeAsync();
        }
    }

    static JsonObject Call(string id, long start, int version = 0) => new()
    {
        ["call_id"] = id,
        ["agent_id"] = $"agent-{version}",
        ["call_type"] = "phone_call",
        ["direction"] = "inbound",
        ["from_number"] = "+15550001",
        ["call_status"] = "ended",
        ["start_timestamp"] = start,
        ["metadata"] = new JsonObject { ["version"] = version },
    };

    static async Task ImportAsync(HttpClient client, IEnumerable<JsonObject> calls)
    {
        var response = await client.PostAsync("/v2/import-calls", new StringContent(new JsonArray([.. calls]).ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, $"import answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    static async Task<List<JsonElement>> ListAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/v2/list-calls", body);
        Assert.True(response.IsSuccessStatusCode, $"list-calls answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return [.. (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray()];
    }

    [Fact]
    public async Task APageWalkHoppingBetweenTwoServersReturnsEveryCallOnceInOrder()
    {
        await using var service = await Service.StartAsync(servers: 2);
        var (a, b) = (service.Servers[0].Client, service.Servers[1].Client);
        // 120 calls on 40 distinct start times: ties are broken by call id.
        var calls = Enumerable.Range(0, 120).Select(i => Call($"call-{(i * 37) % 120:D3}", start: 1_700_000_000_000 + (i % 40) * 1000)).ToList();
        await ImportAsync(a, calls.Take(60));
        await ImportAsync(b, calls.Skip(60));
        var expected = Paging.IdsInListOrder(calls);

        var seen = new List<string>();
        string? key = null;
        for (var page = 0; ; page++)
        {
            var client = page % 2 == 0 ? a : b;
            var calls50 = await ListAsync(client, key is null ? new { limit = 11 } : new { limit = 11, pagination_key = key });
            seen.AddRange(calls50.Select(c => c.GetProperty("call_id").GetString()!));
            if (calls50.Count < 11)
                break;
            key = seen[^1];
            if (page == 3)
            {
                // The last call of this page is deleted through the other server; the walk goes on from it.
                Assert.Equal(HttpStatusCode.NoContent, (await (page % 2 == 0 ? b : a).DeleteAsync($"/v2/delete-call/{key}")).StatusCode);
                expected.Remove(key);
                seen.Remove(key);
            }
        }
        Assert.Equal(expected, seen);
    }

    [Fact]
    public async Task ConcurrentImportsOfTheSameCallsThroughTwoServersEndInOneConsistentState()
    {
        await using var service = await Service.StartAsync(servers: 2);
        var servers = service.Servers.Select(s => s.Client).ToArray();
        var ids = Enumerable.Range(0, 200).Select(i => $"call-{i:D3}").ToArray();
        var imports = Enumerable.Range(1, 8).Select(version =>
        {
            var shuffled = ids.OrderBy(_ => Random.Shared.Next()).Select((id, i) => Call(id, 1_700_000_000_000 + i, version)).ToList();
            return Task.Run(() => ImportAsync(servers[version % 2], shuffled));
        });
        await Task.WhenAll(imports);

        // Both servers see the same calls, byte for byte, all from one whole import.
        var viaA = await (await servers[0].PostAsJsonAsync("/v2/list-calls", new { limit = 1000 })).Content.ReadAsByteArrayAsync();
        var viaB = await (await servers[1].PostAsJsonAsync("/v2/list-calls", new { limit = 1000 })).Content.ReadAsByteArrayAsync();
        Assert.Equal(viaA, viaB);
        var calls = JsonDocument.Parse(viaA).RootElement.EnumerateArray().ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), calls.Select(c => c.GetProperty("call_id").GetString()!).Order(StringComparer.Ordinal));
        var version = Assert.Single(calls.Select(c => c.GetProperty("metadata").GetProperty("version").GetInt32()).Distinct());
        // The filter columns were written with the documents they came from.
        Assert.Equal(ids.Length, (await ListAsync(servers[1], new { limit = 1000, filter_criteria = new { agent_id = new[] { $"agent-{version}" } } })).Count);
        Assert.Empty(await ListAsync(servers[0], new { filter_criteria = new { agent_id = new[] { $"agent-{version % 8 + 1}" } } }));
    }
}
