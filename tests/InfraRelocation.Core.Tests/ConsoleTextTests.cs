namespace InfraRelocation.Core.Tests;

/// <summary>The format views' shared rules: wrap at spaces within 120 columns, never cut a path; one colour rule.</summary>
public class ConsoleTextTests
{
    private const string Location = "ops/bindings/infra.relocation.plan.yaml:119:14";

    [Fact]
    public void WrapBreaksAtSpacesAndNeverCutsALocation()
    {
        var text = $"wiki: the manifest says to_host: app-core at {Location} while the service registry says docker-host.";
        var lines = ConsoleText.Wrap(text, 40, 4).Split('\n');
        Assert.All(lines, l => Assert.StartsWith("    ", l, StringComparison.Ordinal));
        Assert.All(lines.Where(l => !l.Contains(Location, StringComparison.Ordinal)), l => Assert.True(l.Length <= 44, l));
        Assert.Contains(lines, l => l.Trim() == Location);
        Assert.Equal(text, string.Join(' ', lines.Select(l => l.Trim())));
    }

    [Fact]
    public void WidthIsTheConsolesButNeverMoreThan120()
    {
        Assert.Equal(79, ConsoleText.WidthFor(80));
        Assert.Equal(119, ConsoleText.WidthFor(300));
        Assert.Equal(119, ConsoleText.WidthFor(0));
    }

    [Fact]
    public void RowPadsCellsIgnoringEscapesAndPutsATooLongLastCellOnItsOwnLines()
    {
        var row = ConsoleText.Row(120, [6, 4], "wiki", "\u001b[31mFAIL\u001b[0m", "short");
        Assert.Equal("wiki   \u001b[31mFAIL\u001b[0m short", row);
        var wide = ConsoleText.Row(60, [50], "x", Location);
        Assert.Equal($"x\n    {Location}", wide);
    }

    [Theory]
    [InlineData("Failed", "Bad")]
    [InlineData("FAIL", "Bad")]
    [InlineData("Error", "Bad")]
    [InlineData("Passed", "Good")]
    [InlineData("ok", "Good")]
    [InlineData("Previewed", "Note")]
    [InlineData("D35", "")]
    public void ToneFollowsTheWord(string word, string tone) => Assert.Equal(tone, ConsoleText.Tone(word));

    [Fact]
    public void PaintWrapsOnlyWordsWithATone()
    {
        Assert.Equal("<r>Failed</>", ConsoleText.Paint("Failed", "<r>", "<g>", "<y>", "</>"));
        Assert.Equal("D35", ConsoleText.Paint("D35", "<r>", "<g>", "<y>", "</>"));
        Assert.Equal("Failed", ConsoleText.Paint("Failed", "", "", "", ""));
    }
}
