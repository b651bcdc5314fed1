using System.Net;
using System.Text;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Cli;

/// <summary>The serve verb through the real executable.</summary>
public class ServeCliTests
{
    [Fact]
    public async Task ServeTakesUnknownSectionOptionsAsHostConfiguration()
    {
        using var folder = new SqliteFolder();
        await using var server = await CallVaultProcess.ServeAsync(folder.DatabasePath, "--CallVault:MaxBodyBytes=2000");
        var key = await server.WaitForLineAsync(line => line.StartsWith("cv_", StringComparison.Ordinal));
        var client = server.ClientWithKey(key);
        var body = """{"limit": 5}""" + new string(' ', 2500);

        var tooLarge = await client.PostAsync("/v2/list-calls", new StringContent(body, Encoding.UTF8, "application/json"));
        var small = await client.PostAsync("/v2/list-calls", new StringContent("""{"limit": 5}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Contains("2000", await tooLarge.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
    }

    /// <summary>
    /// A body whose chunked framing is broken is the client's error: a 400 with the framework's reason as the
    /// message, and nothing in the server's log (the last-resort handler used to log it as a failure with its
    /// stack, as it did for every load generator that hung up mid-body).
    /// </summary>
    [Fact]
    public async Task ABrokenChunkedBodyIsA400WithAMessageAndNoFailureInTheLog()
    {
        using var folder = new SqliteFolder();
        await using var server = await CallVaultProcess.ServeAsync(folder.DatabasePath);
        var key = await server.WaitForLineAsync(line => line.StartsWith("cv_", StringComparison.Ordinal));
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = socket.GetStream();
        var request = $"POST /v2/list-calls HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
            + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var answer = new StringBuilder();
        while (await reader.ReadLineAsync() is { } line)
        {
            answer.AppendLine(line);
            if (line.StartsWith('{'))
                break;
        }
        await Task.Delay(500); // a log line would be written as the request ends

        Assert.StartsWith("HTTP/1.1 400", answer.ToString(), StringComparison.Ordinal);
        Assert.Contains("{\"message\":\"Bad chunk size data.\"}", answer.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("fail:", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", server.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The host's default would watch the current folder and all below it for changes to appsettings.json, and the
    /// default store lives in that folder: every write to its WAL would wake the watcher (issue 3). The server
    /// reads its settings once, so it holds no inotify instance at all. Linux only: it reads /proc, as CI runs.
    /// </summary>
    [Fact]
    public async Task ServeDoesNotWatchItsFoldersForSettingsChanges()
    {
        Assert.True(OperatingSystem.IsLinux(), "this test reads the server's open files from /proc");
        using var folder = new SqliteFolder();
        await using var server = await CallVaultProcess.ServeAsync(folder.DatabasePath);
        var key = await server.WaitForLineAsync(line => line.StartsWith("cv_", StringComparison.Ordinal));
        var imported = await server.ClientWithKey(key).PostAsync("/v2/import-calls", new StringContent(
            """[{"call_id": "call_watch", "agent_id": "agent_1", "call_type": "web_call", "call_status": "ended"}]""",
            Encoding.UTF8, "application/json"));

        var files = Directory.GetFiles($"/proc/{server.ProcessId}/fd")
            .Select(fd => new FileInfo(fd).LinkTarget)
            .ToList();

        Assert.Equal(HttpStatusCode.OK, imported.StatusCode);
        Assert.Contains(files, target => target is not null && target.EndsWith(Path.GetFileName(folder.DatabasePath), StringComparison.Ordinal));
        Assert.DoesNotContain(files, target => target is not null && target.Contains("inotify", StringComparison.Ordinal));
    }
}
