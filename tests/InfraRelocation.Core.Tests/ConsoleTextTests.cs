namespace InfraRelocation.Core.Tests;

/// <summary>The format views' shared rules: wrap at spaces within 120 columns, never cut a path; one colour rule.</summary>
public class ConsoleTextTests
{
    private const string Location = "ops/bindings/infra.relocation.plan.yaml:119:14";

    [Fact]
    public void WrapBreaksAtSpacesAndNeverCutsALocation()
    {
        var text = $"wiki: the manifest says to_host: app-core at {Location} while the service registry says docker-host.";
        var lines = ConsoleText.Wrap(text, 50, 4).Split('\n');
        Assert.All(lines, l => Assert.StartsWith("    ", l, StringComparison.Ordinal));
        Assert.All(lines, l => Assert.True(l.Length <= 54, l));
        Assert.Contains(lines, l => l.Trim() == Location);
        Assert.Equal(text, string.Join(' ', lines.Select(l => l.Trim())));
    }

    [Fact]
    public void APathLongerThanTheLineBreaksAfterASlashOrADash()
    {
        // The demo's rollback summary on an 80-column console (the short list view leaves 66 columns): the console
        // cut the path where the line ended ("...-20261" / "201T051712Z.md").
        const string incident = "docs/incidents/CHG-2026-1118-SPLIT-LEGACY-bookmarks-rollback-20261201T051712Z.md";
        var lines = ConsoleText.Wrap($"Rolled back bookmarks from app-core to legacy-docker; incident record {incident}", 66).Split('\n');
        Assert.Equal(["Rolled back bookmarks from app-core to legacy-docker; incident", "record", "docs/incidents/",
            "CHG-2026-1118-SPLIT-LEGACY-bookmarks-rollback-20261201T051712Z.md"], lines);

        var location = ConsoleText.Wrap(Location, 40, 4).Split('\n');
        Assert.Equal(["    ops/bindings/", "    infra.relocation.plan.yaml:119:14"], location);

        // The rollback receipt's own view leaves 62 columns there: a file name longer than that breaks after a '-'.
        var narrow = ConsoleText.Wrap(incident, 62).Split('\n');
        Assert.Equal(["docs/incidents/", "CHG-2026-1118-SPLIT-LEGACY-bookmarks-rollback-", "20261201T051712Z.md"], narrow);

        // Nothing to break at: the word stays whole on its own line; one that fits is never broken.
        Assert.Equal("x\n" + new string('a', 30), ConsoleText.Wrap("x " + new string('a', 30), 20));
        Assert.Equal(Location, ConsoleText.Wrap(Location, Location.Length));
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
