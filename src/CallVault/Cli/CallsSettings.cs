using System.ComponentModel;
using System.Globalization;
using System.Text.RegularExpressions;
using CallVault.Client;
using CallVault.Client.Models;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CallVault.Cli;

/// <summary>Settings of every <c>calls</c> verb: which server, with which key.</summary>
class CallsSettings : CommandSettings
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    [CommandOption("--url <URL>")]
    [Description("The server. Default: $CALLVAULT_URL, else http://127.0.0.1:8080.")]
    public string? Url { get; init; }

    [CommandOption("--api-key <KEY>")]
    [Description("The API key. Default: $CALLVAULT_API_KEY (prefer it: a command line is visible to other users).")]
    public string? ApiKey { get; init; }

    public string ServerUrl => Url ?? NonEmpty(Environment.GetEnvironmentVariable("CALLVAULT_URL")) ?? DefaultUrl;

    public string? Key => ApiKey ?? NonEmpty(Environment.GetEnvironmentVariable("CALLVAULT_API_KEY"));

    public override ValidationResult Validate()
    {
        if (!Uri.TryCreate(ServerUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            return ValidationResult.Error($"--url: '{ServerUrl}' is not an http:// or https:// URL");
        return string.IsNullOrWhiteSpace(Key)
            ? ValidationResult.Error("no API key: pass --api-key KEY or set CALLVAULT_API_KEY")
            : ValidationResult.Success();
    }

    /// <summary>
    /// Refuses arguments no option took. The app parses leniently because <c>serve</c> passes unknown
    /// <c>--Key=Value</c> pairs on to the host; a typo in a <c>calls</c> option must not silently widen a query.
    /// </summary>
    public static ValidationResult NoUnknownArguments(CommandContext context) =>
        context.Remaining.Raw.Count == 0 && context.Remaining.Parsed.Count == 0
            ? ValidationResult.Success()
            : ValidationResult.Error($"unknown argument(s): {string.Join(' ', context.Remaining.Parsed.Select(p => p.Key).Concat(context.Remaining.Raw))}");

    public CallVaultClient CreateClient() => new(Key!, new Uri(ServerUrl));

    static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

/// <summary>Settings of the verbs that name one call.</summary>
sealed class CallIdSettings : CallsSettings
{
    [CommandArgument(0, "<CALL_ID>")]
    [Description("The call's id.")]
    public string CallId { get; init; } = "";

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(CallId) ? ValidationResult.Error("CALL_ID must not be empty") : base.Validate();
}

/// <summary>Parsers of the option values of <c>calls list</c>, each returning null and an error for a bad value.</summary>
static partial class CallsArguments
{
    /// <summary>An enum by its wire name, ignoring case: <c>ended</c>, <c>phone_call</c>, <c>positive</c>.</summary>
    public static T? Enum<T>(string text, string option, out string? error) where T : struct, System.Enum
    {
        foreach (var value in System.Enum.GetValues<T>())
        {
            if (string.Equals(WireEnum.ToWire(value), text, StringComparison.OrdinalIgnoreCase))
            {
                error = null;
                return value;
            }
        }
        error = $"{option}: '{text}' is not one of {string.Join(", ", System.Enum.GetValues<T>().Select(v => WireEnum.ToWire(v)))}";
        return null;
    }

    /// <summary>An instant: unix milliseconds, or ISO 8601 (local time when it names no offset).</summary>
    public static DateTimeOffset? Time(string text, string option, out string? error)
    {
        error = null;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            if (ms <= 253402300799999)
                return DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }
        else if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var time))
        {
            return time;
        }
        error = $"{option}: '{text}' is neither ISO 8601 (2024-05-01T12:00:00Z) nor unix milliseconds";
        return null;
    }

    /// <summary>A duration: <c>90s</c>, <c>5m</c>, <c>1h</c>, <c>250ms</c>, or a bare number of milliseconds.</summary>
    public static TimeSpan? Duration(string text, string option, out string? error)
    {
        error = null;
        var match = DurationPattern().Match(text.Trim());
        if (match.Success && double.TryParse(match.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
        {
            var ms = match.Groups[2].Value.ToLowerInvariant() switch
            {
                "" or "ms" => amount,
                "s" => amount * 1000,
                "m" => amount * 60_000,
                _ => amount * 3_600_000,
            };
            if (ms <= TimeSpan.MaxValue.TotalMilliseconds / 2)
                return TimeSpan.FromMilliseconds(ms);
        }
        error = $"{option}: '{text}' is not a duration such as 90s, 5m, 1h or a number of milliseconds";
        return null;
    }

    public static bool? Boolean(string text, string option, out string? error)
    {
        error = null;
        if (bool.TryParse(text, out var value))
            return value;
        error = $"{option}: '{text}' is neither true nor false";
        return null;
    }

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(ms|s|m|h)?$", RegexOptions.IgnoreCase)]
    private static partial Regex DurationPattern();
}
