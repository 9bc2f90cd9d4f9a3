using InfraRelocation.Gates;

namespace InfraRelocation.Core.Gates;

internal static class GateHelpers
{
    public static RelocationFinding Error(string rule, string message, SourceLocation? at, string? path = null, string? subject = null,
        SourceLocation? related = null, string? expected = null, string? actual = null) =>
        new()
        {
            RuleId = rule, Severity = FindingSeverity.Error, Message = message, Location = at, DocumentPath = path,
            Subject = subject, RelatedLocation = related, Expected = expected, Actual = actual,
        };

    public static RelocationFinding Warning(string rule, string message, SourceLocation? at, string? path = null, string? subject = null,
        SourceLocation? related = null, string? expected = null, string? actual = null) =>
        Error(rule, message, at, path, subject, related, expected, actual) with { Severity = FindingSeverity.Warning };

    public static GateResult Result(string gateId, List<RelocationFinding> findings, string summary, int checkedCount) => new()
    {
        GateId = gateId,
        Passed = findings.TrueForAll(f => f.Severity != FindingSeverity.Error),
        Findings = findings,
        Summary = summary,
        Checked = checkedCount,
    };
}
