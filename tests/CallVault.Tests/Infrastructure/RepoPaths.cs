namespace CallVault.Tests.Infrastructure;

/// <summary>Paths in the source tree, found from the test binaries.</summary>
static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CallVault.slnx")))
                return dir.FullName;
        throw new InvalidOperationException("CallVault.slnx not found above " + AppContext.BaseDirectory);
    }
}
