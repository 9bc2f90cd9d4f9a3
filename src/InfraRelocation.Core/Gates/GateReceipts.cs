using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Gates;

/// <summary>
/// The receipt of a gate run, assembled from its results (the gate cmdlets stamp, record and write it): outcome,
/// one-line summary, the relocation it judged and the exit code a scheduled task uses.
/// </summary>
public static class GateReceipts
{
    /// <summary>The receipt of gates that ran: Passed when every result passed, else Failed (exit code 1).</summary>
    public static GateReceipt Of(IReadOnlyList<GateResult> results, RelocationManifest? manifest)
    {
        var exitCode = GateRunner.ExitCodeFor(results);
        var findings = results.SelectMany(r => r.Findings).ToList();
        var errors = findings.Count(f => f.Severity == FindingSeverity.Error);
        var warnings = findings.Count(f => f.Severity == FindingSeverity.Warning);
        return new GateReceipt
        {
            Results = results,
            Findings = findings,
            Outcome = exitCode == GateExitCode.Pass ? ReceiptOutcome.Passed : ReceiptOutcome.Failed,
            Summary = $"{string.Join(", ", results.Select(r => $"{r.GateId} {(r.Passed ? "pass" : "FAIL")}"))}: {errors} error(s), {warnings} warning(s)",
            ChangeId = manifest?.ActiveRelocation?.ChangeId,
            State = manifest?.ActiveRelocation?.StateText,
            ExitCode = exitCode,
        };
    }

    /// <summary>
    /// The receipt of a run whose estate could not be read: the schema gate fails with <paramref name="unreadable"/>
    /// (exit code 2, invalid input) and no other gate ran.
    /// </summary>
    public static GateReceipt Unreadable(RelocationFinding unreadable) => new()
    {
        Results = [new GateResult { GateId = GateIds.Schema, Passed = false, Findings = [unreadable], Summary = "estate unreadable" }],
        Findings = [unreadable],
        Outcome = ReceiptOutcome.Failed,
        Summary = $"{GateIds.Schema} FAIL: {unreadable.Location?.File ?? "the estate"} cannot be read; no gate ran",
        ExitCode = GateExitCode.InvalidInput,
    };
}
