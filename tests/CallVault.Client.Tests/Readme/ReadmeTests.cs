namespace CallVault.Client.Tests.Readme;

public class ReadmeTests
{
    /// <summary>The README block: the example file's using line, a blank line, then the marked lines unindented.</summary>
    static string ExampleBlock()
    {
        var source = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Readme", "ReadmeExample.cs"));
        var begin = Array.FindIndex(source, l => l.Trim() == "// README example begins");
        var end = Array.FindIndex(source, l => l.Trim() == "// README example ends");
        Assert.True(begin > 0 && end > begin, "ReadmeExample.cs lost its markers");
        var indent = source[begin].Length - source[begin].TrimStart().Length;
        var body = source[(begin + 1)..end].Select(l => l.Length >= indent ? l[indent..] : l.Trim());
        var usings = source.Where(l => l.StartsWith("using ", StringComparison.Ordinal));
        return "```csharp\n" + string.Join('\n', usings) + "\n\n" + string.Join('\n', body) + "\n```\n";
    }

    [Theory]
    [InlineData("README.md")]
    [InlineData("CallVault.Client.README.md")]
    public void TheReadmeShowsTheCompiledExampleVerbatim(string readme)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Readme", readme)).ReplaceLineEndings("\n");
        var block = ExampleBlock();

        Assert.True(text.Contains(block, StringComparison.Ordinal), $"{readme} should contain:\n{block}");
    }

    [Fact]
    public void TheExampleIsAboutFiveLines() =>
        Assert.InRange(ExampleBlock().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 2, 4, 7);
}
