using CallVault.Cli;

return await CallVaultCli.RunAsync(args);

/// <summary>Entry point; public so that tests can host the app with WebApplicationFactory.</summary>
public partial class Program;
