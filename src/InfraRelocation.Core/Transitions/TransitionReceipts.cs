using InfraRelocation.Core.Governance;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Transitions;

/// <summary>
/// The receipt of each way a transition ends (docs/design/ledger.md), assembled from the cmdlet's template (its
/// capability-specific fields) and the <see cref="TransitionRun"/>: the plan's subject, values, findings and
/// overrides, the diff and changes, and for a commit the files written, lease takeovers and recovered journals.
/// The transition cmdlets stamp, record and write what these return.
/// </summary>
public static class TransitionReceipts
{
    /// <summary>The preview itself refused (a located error of the planner or guard): no run, the error's findings.</summary>
    public static TReceipt Refused<TReceipt>(TReceipt template, RelocationException refusal) where TReceipt : TransitionReceipt =>
        Fill(template, null, ReceiptOutcome.Blocked, refusal.Message, refusal.Findings);

    /// <summary>The plan is blocked by error findings: the summary lists them and says how to go on; nothing staged is kept.</summary>
    public static TReceipt Blocked<TReceipt>(TReceipt template, TransitionRun run) where TReceipt : TransitionReceipt =>
        Fill(template, run, ReceiptOutcome.Blocked, BlockedMessage(run)) with { Diff = "", Changes = [] };

    /// <summary>
    /// Why <paramref name="run"/> is blocked: the plan, each error finding, and what to do (fix the gates' errors or
    /// override them, fix schema errors, complete the checklist).
    /// </summary>
    public static string BlockedMessage(TransitionRun run)
    {
        var errors = run.Plan.Findings.Where(f => f.Severity == FindingSeverity.Error).ToList();
        var message = $"{run.Plan.Summary} is blocked:{Environment.NewLine}{string.Join(Environment.NewLine, errors.Select(f => "  " + f))}";
        if (run.Plan.Guard is { Passed: false } verdict && errors.Any(e => verdict.Blocking.Contains(e)))
        {
            message += Environment.NewLine + (verdict.SchemaBlocks
                ? "Schema errors cannot be overridden: fix them first (Test-RelocationManifest lists them)."
                : "These are errors of the gates on the estate as it would be after the change: fix them (Invoke-RelocationGate lists them), or repeat with -Force -Reason '<why>' (recorded in the receipt).");
        }
        if (errors.Any(e => e.RuleId == ChecklistEvaluator.IncompleteRule))
        {
            message += Environment.NewLine + "Complete the checklist items (Get-RelocationChecklist lists each with its evidence and command), or repeat with -Force -Reason '<why>' (recorded in the receipt; the checklist then shows them Overridden).";
        }
        return message;
    }

    /// <summary>An extra gate run between preview and confirmation (promotion's probes) refused with <paramref name="reason"/>.</summary>
    public static TReceipt GateRefused<TReceipt>(TReceipt template, TransitionRun preview, string reason) where TReceipt : TransitionReceipt =>
        Fill(template, preview, ReceiptOutcome.Blocked, reason);

    /// <summary>Nothing to change (the estate already says so).</summary>
    public static TReceipt Unchanged<TReceipt>(TReceipt template, TransitionRun run) where TReceipt : TransitionReceipt =>
        Fill(template, run, ReceiptOutcome.Unchanged, run.Plan.Summary);

    /// <summary>-WhatIf, or declined at the prompt: the diff that would be written, nothing written.</summary>
    public static TReceipt Previewed<TReceipt>(TReceipt template, TransitionRun preview) where TReceipt : TransitionReceipt =>
        Fill(template, preview, ReceiptOutcome.Previewed, $"Preview: {preview.Plan.Summary} (nothing written)");

    /// <summary>The commit's receipt: Succeeded, or Reverted when a check after the write undid it.</summary>
    public static TReceipt Committed<TReceipt>(TReceipt template, TransitionRun run) where TReceipt : TransitionReceipt => run.Reverted
        ? Fill(template, run, ReceiptOutcome.Reverted, $"{run.Plan.Summary} was written and reverted: {run.RevertReason}")
        : Fill(template, run, ReceiptOutcome.Succeeded, run.Plan.Summary);

    /// <summary>The commit failed (<paramref name="failure"/>); the journal restored the files: the preview's plan and the error's findings.</summary>
    public static TReceipt Failed<TReceipt>(TReceipt template, TransitionRun preview, RelocationException failure) where TReceipt : TransitionReceipt =>
        Fill(template, preview, ReceiptOutcome.Failed, $"{preview.Plan.Summary}: {failure.Message}", failure.Findings);

    /// <summary>
    /// Ctrl+C before the commit (<paramref name="preview"/> null: before the preview finished): nothing committed, and
    /// how to resume, the same <paramref name="commandLine"/> again.
    /// </summary>
    public static TReceipt Cancelled<TReceipt>(TReceipt template, TransitionRun? preview, string commandLine) where TReceipt : TransitionReceipt
    {
        var what = preview is null ? "before its preview finished" : $"before {preview.Plan.Summary} was committed";
        return Fill(template, preview, ReceiptOutcome.Cancelled,
            $"Cancelled (Ctrl+C) {what}; nothing was committed. To resume, run the same command again{(commandLine.Length > 0 ? $": {commandLine}" : "")}");
    }

    private static TReceipt Fill<TReceipt>(TReceipt template, TransitionRun? run, ReceiptOutcome outcome, string summary,
        IReadOnlyList<RelocationFinding>? extraFindings = null) where TReceipt : TransitionReceipt
    {
        var plan = run?.Plan;
        return (TReceipt)(template with
        {
            Outcome = outcome,
            Summary = summary,
            ChangeId = plan?.ChangeId ?? template.ChangeId,
            Subject = plan?.Subject ?? template.Subject,
            Before = plan?.Before ?? template.Before,
            After = plan?.After ?? template.After,
            Findings = [.. plan?.Findings ?? [], .. extraFindings ?? []],
            Overrides = plan?.Overrides ?? [],
            OverrideReason = plan?.OverrideReason,
            Changes = run?.Changes ?? [],
            Diff = run?.Diff ?? "",
            Files = run?.Outcome?.Files.Select(f => new WrittenFile { Path = f.Path, OldSha256 = f.OldSha256, NewSha256 = f.NewSha256 }).ToList() ?? [],
            TransactionId = run?.Outcome is { Files.Count: > 0 } o ? o.TransactionId : null,
            Takeovers = run?.Takeovers.Select(t => new LeaseTakeoverRecord
            {
                PreviousOwner = t.Previous?.Owner, PreviousPid = t.Previous?.Pid, PreviousMachine = t.Previous?.Machine,
                PreviousPurpose = t.Previous?.Purpose, PreviousAcquiredUtc = t.Previous?.AcquiredUtc, Reason = t.Reason, TakenOverUtc = t.TakenOverUtc,
            }).ToList() ?? [],
            RecoveredJournals = run?.Recovered.Select(r => $"{r.Journal} (transaction {r.TransactionId}, pid {r.Pid} on {r.Machine}, restored {string.Join(", ", r.RestoredFiles)})").ToList() ?? [],
        });
    }
}
