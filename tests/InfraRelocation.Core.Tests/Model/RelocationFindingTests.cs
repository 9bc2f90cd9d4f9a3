using System.Text.RegularExpressions;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>Findings are built one way: <see cref="RelocationFinding.Of"/> and its Error/Warning shorthands.</summary>
public sealed class RelocationFindingTests
{
    [Fact]
    public void TheFactorySetsEveryField()
    {
        var at = new SourceLocation("ops/bindings/plan.yaml", 3, 5);
        var related = new SourceLocation("ops/registry.yaml", 7, 9);

        var finding = RelocationFinding.Of(FindingSeverity.Information, "D35.RegistryHostMismatch", "m", at, "services[0].to_host", "web", related, "a", "b");

        Assert.Equal(new RelocationFinding
        {
            RuleId = "D35.RegistryHostMismatch", Severity = FindingSeverity.Information, Message = "m", Location = at,
            DocumentPath = "services[0].to_host", Subject = "web", RelatedLocation = related, Expected = "a", Actual = "b",
        }, finding);
        Assert.Equal(FindingSeverity.Error, RelocationFinding.Error("X.Y", "m").Severity);
        Assert.Equal(FindingSeverity.Warning, RelocationFinding.Warning("X.Y", "m").Severity);
        Assert.Null(RelocationFinding.Error("X.Y", "m").Location);
    }

    // A finding built by an initializer (new RelocationFinding { }, or a target-typed new() { }) must set the
    // required RuleId, so either shape in src/ is a second way to build one.
    private static readonly Regex s_secondWay = new(@"new\s+RelocationFinding\b|\bRuleId\s*=(?![=>])", RegexOptions.Compiled);

    [Fact]
    public void SourceBuildsFindingsOnlyThroughTheFactory()
    {
        var src = Path.Combine(TestEstate.RepoRoot, "src");
        var factory = Path.Combine(src, "InfraRelocation", "RelocationFinding.cs");
        var files = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") &&
                        !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToList();
        Assert.Contains(factory, files);

        var offenders = files.Where(f => f != factory)
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, line, i)))
            .Where(x => s_secondWay.IsMatch(x.line))
            .Select(x => $"{Path.GetRelativePath(TestEstate.RepoRoot, x.f)}:{x.i + 1}: {x.line.Trim()} (use RelocationFinding.Error/Warning/Of)")
            .ToList();

        Assert.Empty(offenders);
    }
}
