using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Transitions;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Confirm-RelocationChecklistItem: records a person's confirmation of a checklist item that needs one (impact
/// reviewed, old resources decommissioned, open loop closed): who, when and the evidence link, in a receipt
/// (capability infra.relocation.checklist.confirm). The estate's files are not changed.
/// </summary>
[Cmdlet(VerbsLifecycle.Confirm, "RelocationChecklistItem", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ChecklistConfirmationReceipt))]
public sealed class ConfirmRelocationChecklistItemCommand : EstateCmdlet
{
    /// <summary>The item confirmed.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public ChecklistConfirmation Item { get; set; }

    /// <summary>Who confirms it (recorded in the receipt).</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string ConfirmedBy { get; set; } = "";

    /// <summary>Where the evidence is: a ticket, document or URL (recorded in the receipt).</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Evidence { get; set; } = "";

    protected override void EndProcessing()
    {
        if (string.IsNullOrWhiteSpace(ConfirmedBy) || string.IsNullOrWhiteSpace(Evidence))
        {
            Fail("ChecklistConfirmationIncomplete", FailureKind.InvalidArgument,
                "-ConfirmedBy and -Evidence must name a person and an evidence link (not blank).", Item.ToString());
        }
        var estate = Run(() => EstateLoader.Load(Layout));
        var ledger = LedgerView.Load(Receipts.LedgerPath, Layout.Config?.Signers ?? []);
        var (changeId, reviewed) = Run(() => ChecklistEvaluator.PlanConfirmation(estate, ledger, Item));
        var run = BeginRun(ChecklistEvaluator.ConfirmCapability, RunMode.Execute);
        run.RecordInputs(estate.InputDigests);
        var receipt = new ChecklistConfirmationReceipt
        {
            ChangeId = changeId, Item = Item, ConfirmedBy = ConfirmedBy.Trim(), Evidence = Evidence.Trim(), ReviewedRunId = reviewed,
        };
        var what = $"{Item} for {changeId}, confirmed by {receipt.ConfirmedBy} (evidence: {receipt.Evidence}{(reviewed is null ? "" : $"; impact run {reviewed}")})";
        if (!ShouldProcess(what, "Confirm checklist item"))
        {
            run.Mode = RunMode.Preview;
            EmitReceipt(run, receipt with { Outcome = ReceiptOutcome.Previewed, Summary = $"Preview: would record {what}" });
            return;
        }
        EmitReceipt(run, receipt with { Outcome = ReceiptOutcome.Succeeded, Summary = $"Recorded {what}" });
    }
}
