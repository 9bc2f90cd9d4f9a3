using System.Text.Json;
using InfraRelocation.Core.Gates;
using InfraRelocation.Core.Reports;
using InfraRelocation.Gates;

namespace InfraRelocation.Core.Tests.Gates;

/// <summary>The report sections beyond gates (impact, rollback, state), SARIF for GitHub, and the HTML page.</summary>
public class ReportSectionsTests
{
    private static ReportInput Full(string? repositoryRoot = null)
    {
        var b = new EstateBuilder();
        b.Registry["wiki"] = b.Registry["wiki"] with { Host = "docker-host" };
        var estate = b.Build();
        return new ReportInput
        {
            Results = GateRunner.Run(estate, new GateOptions { Now = new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero) }),
            Impact = ImpactAnalyzer.Analyze(estate, true, "wiki"),
            Rollback = RollbackPlanner.Plan(estate, "wiki").Steps,
            State = estate.Manifest?.ActiveRelocation?.StateText,
            ChangeId = estate.Manifest?.ActiveRelocation?.ChangeId,
            EstateRoot = b.Root,
            RepositoryRoot = repositoryRoot,
            ToolVersion = "0.1.0",
        };
    }

    [Fact]
    public void SarifRulesCarryDescriptionsHelpAndAutomationDetails()
    {
        using var doc = JsonDocument.Parse(ReportWriter.Sarif(Full()));
        var run = doc.RootElement.GetProperty("runs")[0];
        Assert.StartsWith("InfraRelocation/", run.GetProperty("automationDetails").GetProperty("id").GetString(), StringComparison.Ordinal);
        foreach (var rule in run.GetProperty("tool").GetProperty("driver").GetProperty("rules").EnumerateArray())
        {
            Assert.False(string.IsNullOrWhiteSpace(rule.GetProperty("fullDescription").GetProperty("text").GetString()));
            Assert.Contains("How to fix", rule.GetProperty("help").GetProperty("markdown").GetString(), StringComparison.Ordinal);
            Assert.StartsWith("https://", rule.GetProperty("helpUri").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void SarifLocationsAreRelativeToTheRepositoryRoot()
    {
        var input = Full();
        var repository = Path.GetDirectoryName(input.EstateRoot)!;
        using var doc = JsonDocument.Parse(ReportWriter.Sarif(input with { RepositoryRoot = repository }));
        var artifact = doc.RootElement.GetProperty("runs")[0].GetProperty("results")[0].GetProperty("locations")[0]
            .GetProperty("physicalLocation").GetProperty("artifactLocation");
        Assert.Equal($"{Path.GetFileName(input.EstateRoot)}/{EstateBuilder.ManifestFile}", artifact.GetProperty("uri").GetString());
        Assert.Equal("%SRCROOT%", artifact.GetProperty("uriBaseId").GetString());
    }

    [Fact]
    public void MarkdownDrawsTheStateAndTheRollbackPlanInMermaid()
    {
        var input = Full();
        var md = ReportWriter.Markdown(input);
        Assert.Contains("stateDiagram-v2", md, StringComparison.Ordinal);
        Assert.Contains($"class {input.State} current", md, StringComparison.Ordinal);
        Assert.Contains("flowchart TD", md, StringComparison.Ordinal);
        Assert.Contains("s1 --> s2", md, StringComparison.Ordinal);
        Assert.Contains("| wiki | ServiceRegistry | **change** | docker-host |", md, StringComparison.Ordinal);
    }

    [Fact]
    public void MarkdownOfARollbackPlanAloneClaimsNoGateResult()
    {
        var md = ReportWriter.Markdown(Full() with { Results = [] });
        Assert.DoesNotContain("Result:", md, StringComparison.Ordinal);
        Assert.Contains("## Rollback plan", md, StringComparison.Ordinal);
    }

    [Fact]
    public void JsonNamesItsSchemaVersionAndCarriesEverySection()
    {
        var input = Full();
        using var doc = JsonDocument.Parse(ReportWriter.Json(input));
        Assert.Equal(ReportWriter.JsonSchemaVersion, doc.RootElement.GetProperty("schemaVersion").GetString());
        Assert.Equal(input.Impact.Count, doc.RootElement.GetProperty("impact").GetArrayLength());
        Assert.Equal(input.Rollback.Count, doc.RootElement.GetProperty("rollback").GetArrayLength());
    }

    [Fact]
    public void HtmlIsSelfContainedAndMarksTheCurrentStateAndFailingCells()
    {
        var input = Full();
        var html = HtmlReport.Write(input);
        Assert.Contains($"<g class=\"state current\" data-state=\"{input.State}\">", html, StringComparison.Ordinal);
        Assert.Contains("<td class=\"fail\" data-service=\"wiki\" data-surface=\"ServiceRegistry\"", html, StringComparison.Ordinal);
        Assert.Equal(input.Rollback.Count, System.Text.RegularExpressions.Regex.Matches(html, "<g class=\"step ").Count);
        Assert.DoesNotMatch("<(script|link|img)\\b", html);
        Assert.Contains("default-src 'none'", html, StringComparison.Ordinal);
    }

    [Fact]
    public void RuleTextNamesTheRuleAndItsGate()
    {
        var text = RuleText.For("D35.RegistryHostMismatch", GateIds.Parity);
        Assert.Equal("D35: Registry host mismatch", text.Short);
        Assert.EndsWith("#d35", text.HelpUri, StringComparison.Ordinal);
    }

    [Fact]
    public void TheChecklistIsASectionPerListWithStateEvidenceAndNextCommand()
    {
        ChecklistItem[] items =
        [
            new() { Phase = ChecklistPhase.PreCutover, Order = 1, Id = "PRE.ManifestComplete", Title = "Manifest complete", State = ChecklistItemState.Done, Evidence = "19 service(s)" },
            new() { Phase = ChecklistPhase.PreCutover, Order = 2, Id = "PRE.Parity", Title = "Parity passes", State = ChecklistItemState.Overridden, Evidence = "Run r-7 entered cutover without it", RunId = "r-7",
                    EvidenceUtc = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero) },
            new() { Phase = ChecklistPhase.PostCutover, Order = 1, Id = "POST.Gate", Title = "Final <verification>", State = ChecklistItemState.Missing, Evidence = "No receipt | yet", Command = "Invoke-RelocationGate" },
        ];
        var input = new ReportInput { Checklist = items, EstateRoot = "/estate", ToolVersion = "0.1.0" };
        Assert.False(input.IsEmpty);

        using var doc = JsonDocument.Parse(ReportWriter.Json(input));
        var json = doc.RootElement.GetProperty("checklist");
        Assert.Equal(3, json.GetArrayLength());
        Assert.Equal("Overridden", json[1].GetProperty("state").GetString());
        Assert.Equal("r-7", json[1].GetProperty("runId").GetString());
        Assert.Equal("2026-11-26T12:00:00Z", json[1].GetProperty("evidenceUtc").GetString());
        Assert.Equal("Invoke-RelocationGate", json[2].GetProperty("command").GetString());

        var md = ReportWriter.Markdown(input);
        Assert.Contains("## Checklist: Pre-Cutover (2 of 2 done)", md, StringComparison.Ordinal);
        Assert.Contains("## Checklist: Post-Cutover (0 of 1 done)", md, StringComparison.Ordinal);
        Assert.Contains("| 1 | **Missing** | Final <verification> | No receipt \\| yet | `Invoke-RelocationGate` |", md, StringComparison.Ordinal);

        var html = HtmlReport.Write(input);
        Assert.Contains("<section id=\"checklist-precutover\"><h2>Checklist: Pre-Cutover (2 of 2 done)</h2>", html, StringComparison.Ordinal);
        Assert.Contains("<td class=\"warn\">Overridden</td><td>Parity passes</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td class=\"none\">Missing</td><td>Final &lt;verification&gt;</td>", html, StringComparison.Ordinal);
    }
}
