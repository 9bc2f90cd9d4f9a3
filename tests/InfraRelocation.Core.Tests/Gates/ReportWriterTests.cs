using System.Text.Json;
using System.Xml.Linq;
using InfraRelocation.Core.Gates;
using InfraRelocation.Core.Reports;
using InfraRelocation.Gates;

namespace InfraRelocation.Core.Tests.Gates;

public class ReportWriterTests
{
    private static ReportInput Broken()
    {
        var b = new EstateBuilder();
        b.Registry["wiki"] = b.Registry["wiki"] with { Host = "docker-host" };
        b.Stacks.Clear();
        return new ReportInput { Results = GateRunner.Run(b.Build(), new GateOptions { Now = new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero) }), EstateRoot = b.Root, ToolVersion = "0.1.0" };
    }

    [Fact]
    public void GroupByGate_UsesTheRuleIdPrefix_YamlCountsAsSchema_WarningsDoNotFail()
    {
        var findings = Broken().Results.SelectMany(r => r.Findings)
            .Append(new RelocationFinding { RuleId = "YAML.Syntax", Severity = FindingSeverity.Error, Message = "bad" }).ToList();

        var grouped = ReportWriter.GroupByGate(findings).ToDictionary(r => r.GateId);

        Assert.False(grouped["D35"].Passed);
        Assert.All(grouped["D35"].Findings, f => Assert.StartsWith("D35.", f.RuleId, StringComparison.Ordinal));
        Assert.Contains(grouped[GateIds.Schema].Findings, f => f.RuleId == "YAML.Syntax");
        Assert.Equal(findings.Count, grouped.Values.Sum(r => r.Findings.Count));
    }

    [Fact]
    public void SarifHasRulesAndLocatedResults()
    {
        var input = Broken();
        using var doc = JsonDocument.Parse(ReportWriter.Sarif(input));
        var root = doc.RootElement;
        Assert.Equal("2.1.0", root.GetProperty("version").GetString());
        var run = root.GetProperty("runs")[0];
        Assert.Equal("InfraRelocation", run.GetProperty("tool").GetProperty("driver").GetProperty("name").GetString());
        var rules = run.GetProperty("tool").GetProperty("driver").GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.Contains("D35.RegistryHostMismatch", rules);
        var result = run.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("ruleId").GetString() == "D35.RegistryHostMismatch");
        Assert.Equal("error", result.GetProperty("level").GetString());
        var physical = result.GetProperty("locations")[0].GetProperty("physicalLocation");
        Assert.Equal(EstateBuilder.ManifestFile, physical.GetProperty("artifactLocation").GetProperty("uri").GetString());
        Assert.True(physical.GetProperty("region").GetProperty("startLine").GetInt32() > 0);
        Assert.True(physical.GetProperty("region").GetProperty("startColumn").GetInt32() > 0);
        var related = result.GetProperty("relatedLocations")[0].GetProperty("physicalLocation");
        Assert.Equal(EstateBuilder.RegistryFile, related.GetProperty("artifactLocation").GetProperty("uri").GetString());
        Assert.Equal(rules.IndexOf("D35.RegistryHostMismatch"), result.GetProperty("ruleIndex").GetInt32());
        var warning = run.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("ruleId").GetString() == "D35.StackEntryMissing");
        Assert.Equal("warning", warning.GetProperty("level").GetString());
    }

    [Fact]
    public void JUnitHasOneSuitePerGateAndFailures()
    {
        var xml = XDocument.Parse(ReportWriter.JUnit(Broken()));
        var suites = xml.Root!.Elements("testsuite").ToList();
        Assert.Equal(GateRunner.AllGates, suites.Select(s => (string)s.Attribute("name")!));
        var d35 = suites.Single(s => (string)s.Attribute("name")! == "D35");
        Assert.Equal("1", (string)d35.Attribute("failures")!);
        var failing = d35.Elements("testcase").Single(c => c.Element("failure") is not null);
        Assert.Equal("D35.RegistryHostMismatch wiki", (string)failing.Attribute("name")!);
        Assert.Equal("1", (string)xml.Root.Attribute("failures")!);
        Assert.Contains(suites.Single(s => (string)s.Attribute("name")! == "D37").Elements("testcase"), c => ((string)c.Attribute("name")!).EndsWith("passes", StringComparison.Ordinal));
    }

    [Fact]
    public void JsonAndMarkdownCarryTheFindings()
    {
        var input = Broken();
        using var doc = JsonDocument.Parse(ReportWriter.Json(input));
        Assert.False(doc.RootElement.GetProperty("passed").GetBoolean());
        Assert.Equal(1, doc.RootElement.GetProperty("exitCode").GetInt32());
        var md = ReportWriter.Markdown(input);
        Assert.Contains("**FAIL**", md);
        Assert.Contains("`D35.RegistryHostMismatch`", md);
    }

    [Fact]
    public void OutputIsDeterministic()
    {
        var input = Broken();
        Assert.Equal(ReportWriter.Sarif(input), ReportWriter.Sarif(input));
        Assert.Equal(ReportWriter.JUnit(input), ReportWriter.JUnit(input));
    }
}
