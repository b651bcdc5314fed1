namespace CallVault.Tests.Infrastructure;

/// <summary>The exact number comparison the round-trip tests rely on must itself tell values apart.</summary>
public class JsonNumbersTests
{
    [Theory]
    [InlineData("1.50", "1.5")]
    [InlineData("1e3", "1000")]
    [InlineData("1E+3", "1000.000")]
    [InlineData("-42.75", "-4275e-2")]
    [InlineData("-0", "0")]
    [InlineData("0.0", "0e10")]
    [InlineData("123456789012345678901234567890", "1.2345678901234567890123456789e29")]
    public void EqualValuesWrittenDifferentlyAreTheSame(string a, string b) => Assert.True(JsonNumbers.SameValue(a, b));

    [Theory]
    [InlineData("123456789012345678901234567890", "123456789012345678901234567900")]
    [InlineData("5e-324", "4.9406564584124654e-324")]
    [InlineData("9223372036854775807", "9223372036854775808")]
    [InlineData("1.5", "-1.5")]
    [InlineData("0.1", "0.10000000000000001")]
    public void DifferentValuesAreNotTheSame(string a, string b) => Assert.False(JsonNumbers.SameValue(a, b));
}
