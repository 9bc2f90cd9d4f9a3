using InfraRelocation.Core.Gates;
using Xunit;

namespace InfraRelocation.Core.Tests.Gates;

public class ExitCodeLogTests
{
    private static RelocationFinding Finding(string rule, FindingSeverity severity, int line) => new()
    {
        RuleId = rule, Severity = severity, Message = $"finding {line}",
        Location = new SourceLocation("ops/bindings/infra.relocation.plan.yaml", line, 3),
    };

    [Fact]
    public void CountsEachRuleAndShowsOnlyTheFirstFindings()
    {
        var findings = Enumerable.Range(1, 50).Select(i => Finding("D35.RegistryHostMismatch", FindingSeverity.Error, i))
            .Concat(Enumerable.Range(51, 5).Select(i => Finding("D36.ExceptionExpiring", FindingSeverity.Warning, i)))
            .Append(Finding("D37.VmIdOutOfRange", FindingSeverity.Error, 99))
            .ToList();

        var lines = ExitCodeLog.Lines(findings, "SCHEMA pass, D35 FAIL: 51 error(s), 5 warning(s)", firstFindings: 10);

        Assert.Equal("Rule                      Errors  Warnings", lines[0]);
        Assert.Equal("D35.RegistryHostMismatch      50         0", lines[1]);
        Assert.Equal("D37.VmIdOutOfRange             1         0", lines[2]);
        Assert.Equal("D36.ExceptionExpiring          0         5", lines[3]);
        Assert.Equal(10, lines.Count(l => l.Contains(": Error D35.RegistryHostMismatch: finding", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("... 46 more finding(s) not shown", StringComparison.Ordinal));
        Assert.Equal("SCHEMA pass, D35 FAIL: 51 error(s), 5 warning(s)", lines[^1]);
    }

    [Fact]
    public void VerbosePrintsEveryFinding()
    {
        var findings = Enumerable.Range(1, 30).Select(i => Finding("D35.RegistryHostMismatch", FindingSeverity.Error, i)).ToList();

        var lines = ExitCodeLog.Lines(findings, "summary", firstFindings: null);

        Assert.Equal(30, lines.Count(l => l.Contains("finding", StringComparison.Ordinal)));
        Assert.DoesNotContain(lines, l => l.Contains("not shown", StringComparison.Ordinal));
    }

    [Fact]
    public void APassingRunLogsOnlyItsSummary()
    {
        Assert.Equal(["SCHEMA pass, D35 pass: 0 error(s), 0 warning(s)"],
            ExitCodeLog.Lines([], "SCHEMA pass, D35 pass: 0 error(s), 0 warning(s)"));
    }
}
