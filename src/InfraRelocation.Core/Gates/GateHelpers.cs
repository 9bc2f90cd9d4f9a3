namespace InfraRelocation.Core.Gates;

internal static class GateHelpers
{
    public static GateResult Result(string gateId, List<RelocationFinding> findings, string summary, int checkedCount) => new()
    {
        GateId = gateId,
        Passed = findings.TrueForAll(f => f.Severity != FindingSeverity.Error),
        Findings = findings,
        Summary = summary,
        Checked = checkedCount,
    };
}
