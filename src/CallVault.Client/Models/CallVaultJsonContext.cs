using System.Text.Json.Serialization;

namespace CallVault.Client.Models;

/// <summary>Source-generated JSON metadata for every wire shape, shared by the server and the client.</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(Call))]
[JsonSerializable(typeof(List<Call>))]
[JsonSerializable(typeof(ListCallsRequest))]
[JsonSerializable(typeof(UpdateCallRequest))]
[JsonSerializable(typeof(RegisterPhoneCallRequest))]
[JsonSerializable(typeof(ImportCallsResult))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(Dictionary<string, System.Text.Json.JsonElement>))]
public sealed partial class CallVaultJsonContext : JsonSerializerContext;
