using System.ComponentModel;
using CallVault.Client.Models;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CallVault.Cli;

/// <summary><c>calls list</c>: one page of calls, or with <c>--all</c> every page, as a table, JSON, NDJSON or CSV.</summary>
sealed class CallsListCommand(IAnsiConsole console, StandardError stderr) : AsyncCommand<CallsListCommand.Settings>
{
    public sealed class Settings : CallsSettings
    {
        [CommandOption("--agent <ID>")]
        [Description("Only calls of this agent; repeat for several.")]
        public string[] Agent { get; init; } = [];

        [CommandOption("--status <STATUS>")]
        [Description("registered, ongoing, ended or error; repeat for several.")]
        public string[] Status { get; init; } = [];

        [CommandOption("--type <TYPE>")]
        [Description("web_call or phone_call.")]
        public string? Type { get; init; }

        [CommandOption("--direction <DIRECTION>")]
        [Description("inbound or outbound (phone calls).")]
        public string? Direction { get; init; }

        [CommandOption("--sentiment <SENTIMENT>")]
        [Description("Positive, Negative, Neutral or Unknown; repeat for several.")]
        public string[] Sentiment { get; init; } = [];

        [CommandOption("--successful <BOOL>")]
        [Description("true or false: whether the analysis judged the call successful.")]
        public string? Successful { get; init; }

        [CommandOption("--from-number <NUMBER>")]
        [Description("Only calls from this number.")]
        public string? FromNumber { get; init; }

        [CommandOption("--to-number <NUMBER>")]
        [Description("Only calls to this number.")]
        public string? ToNumber { get; init; }

        [CommandOption("--since <TIME>")]
        [Description("Started at or after TIME: ISO 8601 (local time unless it has an offset) or unix milliseconds.")]
        public string? Since { get; init; }

        [CommandOption("--until <TIME>")]
        [Description("Started at or before TIME.")]
        public string? Until { get; init; }

        [CommandOption("--min-duration <DURATION>")]
        [Description("Lasted at least DURATION: 90s, 5m, 1h or milliseconds.")]
        public string? MinDuration { get; init; }

        [CommandOption("--max-duration <DURATION>")]
        [Description("Lasted at most DURATION.")]
        public string? MaxDuration { get; init; }

        [CommandOption("--sort <ORDER>")]
        [Description("asc (oldest first) or desc (newest first, the default).")]
        public string? Sort { get; init; }

        [CommandOption("--limit <N>")]
        [Description("How many calls to show, 1 to 1000 (default 50); with --all, the size of each page (default 1000).")]
        public int? Limit { get; init; }

        [CommandOption("--all")]
        [Description("Every matching call, fetched page by page.")]
        public bool All { get; init; }

        [CommandOption("--format <FORMAT>")]
        [Description("table, json, ndjson or csv. Default: table on a terminal, else json.")]
        public string? Format { get; init; }

        public override ValidationResult Validate()
        {
            var errors = new List<string>();
            BuildRequest(errors);
            if (Format is not null && CallsOutput.ParseFormat(Format) is null)
                errors.Add($"--format: '{Format}' is not one of table, json, ndjson, csv");
            return errors.Count > 0 ? ValidationResult.Error(string.Join("; ", errors)) : base.Validate();
        }

        /// <summary>The list request these options ask for; problems go to <paramref name="errors"/>.</summary>
        public ListCallsRequest BuildRequest(List<string> errors)
        {
            T? Check<T>(T? value, string? error) where T : struct
            {
                if (error is not null)
                    errors.Add(error);
                return value;
            }
            List<T>? Many<T>(string[] texts, string option) where T : struct, Enum =>
                texts.Length == 0 ? null : [.. texts.Select(t => Check(CallsArguments.Enum<T>(t, option, out var e), e)).OfType<T>()];

            var statuses = Many<CallStatus>(Status, "--status");
            var sentiments = Many<UserSentiment>(Sentiment, "--sentiment");
            var type = Type is null ? null : Check(CallsArguments.Enum<CallType>(Type, "--type", out var typeError), typeError);
            var direction = Direction is null ? null : Check(CallsArguments.Enum<CallDirection>(Direction, "--direction", out var directionError), directionError);
            var successful = Successful is null ? null : Check(CallsArguments.Boolean(Successful, "--successful", out var successError), successError);
            var since = Since is null ? null : Check(CallsArguments.Time(Since, "--since", out var sinceError), sinceError);
            var until = Until is null ? null : Check(CallsArguments.Time(Until, "--until", out var untilError), untilError);
            var shortest = MinDuration is null ? null : Check(CallsArguments.Duration(MinDuration, "--min-duration", out var minError), minError);
            var longest = MaxDuration is null ? null : Check(CallsArguments.Duration(MaxDuration, "--max-duration", out var maxError), maxError);
            if (since > until)
                errors.Add("--since is after --until: no call can match");
            if (shortest > longest)
                errors.Add("--min-duration is longer than --max-duration: no call can match");
            SortOrder? order = Sort?.ToLowerInvariant() switch
            {
                null => null,
                "asc" or "ascending" => SortOrder.Ascending,
                "desc" or "descending" => SortOrder.Descending,
                _ => null,
            };
            if (Sort is not null && order is null)
                errors.Add($"--sort: '{Sort}' is neither asc nor desc");
            if (Limit is < 1 or > 1000)
                errors.Add($"--limit: {Limit} is not between 1 and 1000");

            var filter = new CallFilter
            {
                AgentId = Agent.Length == 0 ? null : Agent,
                CallStatus = statuses,
                CallType = type is { } t ? [t] : null,
                Direction = direction is { } d ? [d] : null,
                UserSentiment = sentiments,
                CallSuccessful = successful is { } s ? [s] : null,
                FromNumber = FromNumber is null ? null : [FromNumber],
                ToNumber = ToNumber is null ? null : [ToNumber],
                StartTimestamp = since is null && until is null ? null : Threshold.Between(since, until),
                DurationMs = shortest is null && longest is null ? null : Threshold.Between(shortest, longest),
            };
            return new ListCallsRequest
            {
                FilterCriteria = filter == new CallFilter() ? null : filter,
                SortOrder = order,
                // --all fetches big pages: fewer round trips for the same calls.
                Limit = Limit ?? (All ? 1000 : null),
            };
        }
    }

    public override ValidationResult Validate(CommandContext context, Settings settings) => CallsSettings.NoUnknownArguments(context);

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var request = settings.BuildRequest([]);
        var client = settings.CreateClient();
        var terminal = console.Profile.Out.IsTerminal;
        var format = settings.Format is { } f ? CallsOutput.ParseFormat(f)!.Value : terminal ? CallsFormat.Table : CallsFormat.Json;
        var output = CallsOutput.Create(format, console.Profile.Out.Writer, console.Profile.Width);
        return await CallsErrors.ReportAsync(stderr, settings, async () =>
        {
            if (!settings.All)
            {
                output.Write(await client.ListCallsAsync(request, cancellationToken));
                output.End();
                return 0;
            }
            var progress = new CallsProgress(stderr, enabled: terminal);
            var pageSize = request.Limit ?? 1000;
            var page = new List<Call>(pageSize);
            var total = 0;
            await foreach (var call in client.ListAllCallsAsync(request, cancellationToken))
            {
                page.Add(call);
                if (page.Count < pageSize)
                    continue;
                total += page.Count;
                progress.Clear();
                output.Write(page);
                page.Clear();
                // The walk fetches the next page when asked for the next call: say so while it does.
                progress.Show($"{total} calls so far, fetching the next page...");
            }
            total += page.Count;
            progress.Clear();
            output.Write(page);
            output.End();
            progress.Done($"{total} calls.");
            return 0;
        });
    }
}
