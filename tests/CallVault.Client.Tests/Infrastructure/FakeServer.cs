using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CallVault.Client.Tests.Infrastructure;

/// <summary>
/// A stand-in for Retell's cloud on loopback (Kestrel, port 0) that answers request N with script entry N (the
/// last entry repeats) and records when each request arrived and what it carried.
/// </summary>
sealed class FakeServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly Func<HttpContext, Task>[] _script;
    int _count;

    FakeServer(WebApplication app, Func<HttpContext, Task>[] script)
    {
        _app = app;
        _script = script;
    }

    public ConcurrentQueue<Arrival> Arrivals { get; } = new();

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The requests received so far, in arrival order.</summary>
    public IReadOnlyList<Arrival> Received => [.. Arrivals.OrderBy(a => a.Timestamp)];

    public static async Task<FakeServer> StartAsync(params Func<HttpContext, Task>[] script)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new FakeServer(app, script);
        app.Run(server.AnswerAsync);
        await app.StartAsync();
        server.BaseAddress = new Uri(app.Urls.Single());
        // One request that is neither answered from the script nor recorded: the server's first request compiles
        // its pipeline, which on a loaded machine stamped the first recorded arrival hundreds of ms late and so
        // shortened the gap to the second below the delay the client really waited.
        using (var warmUp = new HttpClient { BaseAddress = server.BaseAddress })
            (await warmUp.GetAsync(WarmUpPath)).EnsureSuccessStatusCode();
        return server;
    }

    const string WarmUpPath = "/__fake-server-warm-up";

    async Task AnswerAsync(HttpContext context)
    {
        if (context.Request.Path == WarmUpPath)
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }
        var index = Interlocked.Increment(ref _count) - 1;
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync(context.RequestAborted);
        Arrivals.Enqueue(new Arrival(Stopwatch.GetTimestamp(), context.Request.Method, context.Request.Path, body,
            context.Request.Headers.Authorization.ToString()));
        await _script[Math.Min(index, _script.Length - 1)](context);
    }

    /// <summary>Answers with a status, a JSON body and optional headers.</summary>
    public static Func<HttpContext, Task> Answer(int status, string json, params (string Name, string Value)[] headers) => async context =>
    {
        context.Response.StatusCode = status;
        foreach (var (name, value) in headers)
            context.Response.Headers[name] = value;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json, context.RequestAborted);
    };

    /// <summary>Drops the connection without an answer: a network fault.</summary>
    public static Func<HttpContext, Task> Drop => context =>
    {
        context.Abort();
        return Task.CompletedTask;
    };

    /// <summary>Never answers (until the client gives up and the request is aborted).</summary>
    public static Func<HttpContext, Task> Hang => async context =>
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

sealed record Arrival(long Timestamp, string Method, string Path, string Body, string Authorization)
{
    public TimeSpan Since(Arrival earlier) => Stopwatch.GetElapsedTime(earlier.Timestamp, Timestamp);
}
