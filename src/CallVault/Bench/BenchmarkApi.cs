using CallVault.Hosting;
using CallVault.Http;
using Microsoft.Extensions.Options;

namespace CallVault.Bench;

/// <summary>
/// The benchmark's yardstick: an endpoint that takes the same authenticated POST as list-calls and answers
/// with a fixed, pre-serialized body, so that list-calls can be compared with what the same server does when
/// the answer costs nothing. Mapped only when <c>CallVault:BenchmarkEndpoints=true</c>.
/// </summary>
static class BenchmarkApi
{
    static byte[] s_fixedAnswer = "[]"u8.ToArray();

    public static IEndpointRouteBuilder MapBenchmark(this IEndpointRouteBuilder routes)
    {
        var bench = routes.MapGroup("/bench").AddEndpointFilter<ApiExceptionFilter>(); // as list-calls
        bench.MapPut("/fixed-answer", SetFixedAnswer).WithName("SetFixedAnswer").WithSummary("Sets the body that POST /bench/fixed-answer returns.");
        bench.MapPost("/fixed-answer", FixedAnswer).WithName("FixedAnswer").WithSummary("Reads the request like list-calls and returns the fixed body.");
        return routes;
    }

    static async Task<IResult> SetFixedAnswer(HttpRequest request, IOptions<CallVaultOptions> options, CancellationToken ct)
    {
        s_fixedAnswer = await RequestBody.ReadAsync(request, options.Value.MaxImportBytes, ct);
        return TypedResults.NoContent();
    }

    static async Task<IResult> FixedAnswer(HttpRequest request, IOptions<CallVaultOptions> options, CancellationToken ct)
    {
        await RequestBody.ReadAsync(request, options.Value.MaxBodyBytes, ct);
        return RawJsonResult.One(s_fixedAnswer);
    }
}
