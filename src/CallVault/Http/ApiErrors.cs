using CallVault.Client.Models;
using Microsoft.AspNetCore.Diagnostics;

namespace CallVault.Http;

/// <summary>Every error leaves the server as JSON with a human-readable <c>message</c>, as the Retell SDKs expect.</summary>
static class ApiErrors
{
    public static IResult Result(int status, string message, IReadOnlyList<RecordError>? errors = null) =>
        TypedResults.Json(new ApiError { Message = message, Errors = errors }, CallVaultJsonContext.Default.ApiError, statusCode: status);

    public static IResult BadRequest(string message) => Result(StatusCodes.Status400BadRequest, message);

    public static IResult NotFound(string callId) => Result(StatusCodes.Status404NotFound, $"call {callId} not found");

    public static Task WriteAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ApiError { Message = message }, CallVaultJsonContext.Default.ApiError);
    }

    /// <summary>Last resort: a bug or a failing database. The details go to the log, never to the client.</summary>
    public static Task WriteUnhandledAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        return error switch
        {
            BadHttpRequestException bad => WriteAsync(context, bad.StatusCode, bad.Message),
            ApiException api => WriteAsync(context, api.Status, api.Message),
            _ => WriteAsync(context, StatusCodes.Status500InternalServerError, "internal server error"),
        };
    }

    /// <summary>Gives bodiless framework answers (unknown route, wrong method) a message too.</summary>
    public static Task WriteStatusCodeAsync(StatusCodeContext status)
    {
        var context = status.HttpContext;
        var message = context.Response.StatusCode switch
        {
            404 => $"no route {context.Request.Method} {context.Request.Path}",
            405 => $"method {context.Request.Method} is not allowed on {context.Request.Path}",
            var code => $"HTTP {code}",
        };
        return context.Response.WriteAsJsonAsync(new ApiError { Message = message }, CallVaultJsonContext.Default.ApiError);
    }
}
