using System.Collections.Concurrent;
using CallVault.Store;
using CallVault.Tests.Infrastructure;

namespace CallVault.Client.Tests.Infrastructure;

/// <summary>Library clients of the in-process server, sending through its test handler.</summary>
static class InProcessClients
{
    /// <summary>
    /// Creates a workspace with a key and returns a <see cref="CallVaultClient"/> for it, optionally recording
    /// every request it sends.
    /// </summary>
    public static async Task<CallVaultClient> CallVaultClientForAsync(this CallVaultApp app, string workspace,
        RecordingHandler? recorder = null, CallVaultClientOptions? options = null)
    {
        var key = await ApiKeys.CreateAsync(app.Store, workspace, CancellationToken.None);
        var handler = app.Server.CreateHandler();
        if (recorder is not null)
            recorder.InnerHandler = handler;
        var http = new HttpClient(recorder ?? handler) { BaseAddress = app.Server.BaseAddress };
        options ??= new CallVaultClientOptions();
        options.ApiKey = key;
        return new CallVaultClient(http, options);
    }
}

/// <summary>Records each request (method, path and body) before passing it on.</summary>
sealed class RecordingHandler : DelegatingHandler
{
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        Requests.Enqueue(new RecordedRequest(request.Method.Method, request.RequestUri!.AbsolutePath, body));
        return await base.SendAsync(request, cancellationToken);
    }
}

sealed record RecordedRequest(string Method, string Path, string? Body);
