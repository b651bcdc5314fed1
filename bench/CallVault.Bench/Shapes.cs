using CallVault.Client.Models;

namespace CallVault.Bench;

/// <summary>A list-calls query shape of the benchmark: a request for the i-th repetition at a page size.</summary>
sealed record Shape(string Name, Func<int, int, ListCallsRequest> Request);

static class Shapes
{
    const long DayMs = 24L * 3600 * 1000;

    /// <param name="deepCursor">Call id after which the 10,000th page of a page-50 walk starts.</param>
    public static IReadOnlyList<Shape> All(CallGenerator calls, string deepCursor)
    {
        var agents = calls.Agents;
        return
        [
            new("no filter", (_, limit) => new ListCallsRequest { Limit = limit }),
            new("one agent", (i, limit) => new ListCallsRequest { Limit = limit, FilterCriteria = new CallFilter { AgentId = [agents[i % agents.Count]] } }),
            new("ended + Negative", (_, limit) => new ListCallsRequest
            {
                Limit = limit,
                FilterCriteria = new CallFilter { CallStatus = [CallStatus.Ended], UserSentiment = [UserSentiment.Negative] },
            }),
            new("rare from_number", (_, limit) => new ListCallsRequest { Limit = limit, FilterCriteria = new CallFilter { FromNumber = [CallGenerator.RareFromNumber] } }),
            new("one-day start range", (i, limit) =>
            {
                var day = CallGenerator.YearStart + (100 + i % 100) * DayMs;
                return new ListCallsRequest { Limit = limit, FilterCriteria = new CallFilter { StartTimestamp = new Threshold { LowerThreshold = day, UpperThreshold = day + DayMs - 1 } } };
            }),
            new("e2e p50 range", (i, limit) => new ListCallsRequest
            {
                Limit = limit,
                FilterCriteria = new CallFilter { E2eLatencyP50 = new Threshold { LowerThreshold = 1500 + i % 10, UpperThreshold = 1600 + i % 10 } },
            }),
            new("failed+inbound+2 agents", (i, limit) => new ListCallsRequest
            {
                Limit = limit,
                FilterCriteria = new CallFilter
                {
                    CallSuccessful = [false],
                    Direction = [CallDirection.Inbound],
                    AgentId = [agents[i % agents.Count], agents[(i + 7) % agents.Count]],
                },
            }),
            new("rare disconnection", (_, limit) => new ListCallsRequest { Limit = limit, FilterCriteria = new CallFilter { DisconnectionReason = [DisconnectionReason.ScamDetected] } }),
            new("page 10,000 of a walk", (_, limit) => new ListCallsRequest { Limit = limit, PaginationKey = deepCursor }),
            new("ascending", (_, limit) => new ListCallsRequest { Limit = limit, SortOrder = SortOrder.Ascending }),
        ];
    }
}
