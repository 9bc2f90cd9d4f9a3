using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Transitions;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Get-RelocationChecklist: the protocol's Pre-Cutover, Post-Cutover and Post-Cleanup checklists, item by item, for
/// the active relocation, from the evidence in the receipt ledger (capability infra.relocation.checklist).
/// </summary>
[Cmdlet(VerbsCommon.Get, "RelocationChecklist")]
[OutputType(typeof(ChecklistItem), typeof(ChecklistReceipt))]
public sealed class GetRelocationChecklistCommand : EstateCmdlet
{
    /// <summary>Only these checklists (all three when omitted).</summary>
    [Parameter(Position = 0)]
    public ChecklistPhase[]? Phase { get; set; }

    protected override void EndProcessing()
    {
        var estate = Run(() => EstateLoader.Load(Layout));
        var run = BeginRun(ChecklistEvaluator.Capability, RunMode.Read);
        run.RecordInputs(estate.InputDigests);
        var ledger = LedgerView.Load(Receipts.LedgerPath, Layout.Config?.Signers ?? []);
        var items = Run(() => ChecklistEvaluator.Evaluate(estate, ledger, Phase));
        foreach (var item in items)
        {
            WriteObject(item);
        }
        var done = items.Count(i => i.IsDone);
        EmitReceipt(run, new ChecklistReceipt
        {
            ChangeId = estate.Manifest?.ActiveRelocation?.ChangeId,
            State = estate.Manifest?.ActiveRelocation?.StateText,
            Items = items,
            Outcome = done == items.Count ? ReceiptOutcome.Passed : ReceiptOutcome.Failed,
            Summary = $"{done} of {items.Count} checklist item(s) done" +
                      string.Concat(Enum.GetValues<ChecklistItemState>().Where(s => s != ChecklistItemState.Done)
                          .Select(s => (s, n: items.Count(i => i.State == s))).Where(x => x.n > 0).Select(x => $", {x.n} {x.s.ToString().ToLowerInvariant()}")),
        });
    }
}
