using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Transitions;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Approve-RelocationEdit: adopts the reviewed hand edits of controlled fields (state, approved_by, service and VM
/// target statuses) that the mutation guard reports, recording who approved them and why; the estate's files are
/// not changed (capability infra.relocation.handedit.adopt). From then on the adopted values are the controlled ones.
/// </summary>
[Cmdlet(VerbsLifecycle.Approve, "RelocationEdit", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(HandEditAdoptionReceipt))]
public sealed class ApproveRelocationEditCommand : EstateCmdlet
{
    /// <summary>Who reviewed and approves the hand edits (recorded in the receipt).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string ApprovedBy { get; set; } = "";

    /// <summary>Why the hand edits are accepted (recorded in the receipt).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Reason { get; set; }

    protected override void EndProcessing()
    {
        var estate = Run(() => EstateLoader.Load(Layout));
        var ledger = LedgerView.Load(Receipts.LedgerPath, Layout.Config?.Signers ?? []);
        var edits = Run(() => HandEditGate.Evaluate(estate, ledger));
        var run = BeginRun(HandEditGate.AdoptCapability, RunMode.Execute);
        run.RecordInputs(estate.InputDigests);
        var receipt = new HandEditAdoptionReceipt
        {
            Subject = "relocation",
            ChangeId = estate.Manifest?.ActiveRelocation?.ChangeId,
            ApprovedBy = ApprovedBy,
            OverrideReason = Reason,
            Findings = edits,
            Changes = edits.Select(f => new ValueChange { File = f.Location?.File ?? "", Path = f.DocumentPath ?? "", Before = f.Expected, After = f.Actual }).ToList(),
        };
        if (edits.Count == 0)
        {
            run.Mode = RunMode.Read;
            EmitReceipt(run, receipt with { Outcome = ReceiptOutcome.Unchanged, Summary = "No hand edit of a controlled field to adopt." });
            return;
        }
        var list = string.Join(Environment.NewLine, edits.Select(f => $"  {f.DocumentPath}: {f.Expected ?? "null"} -> {f.Actual ?? "null"} ({f.Location})"));
        if (!ShouldProcess($"Adopt {edits.Count} hand edit(s), approved by {ApprovedBy}:{Environment.NewLine}{list}", $"Adopt {edits.Count} hand edit(s)?{Environment.NewLine}{list}", "Approve-RelocationEdit"))
        {
            run.Mode = RunMode.Preview;
            EmitReceipt(run, receipt with { Outcome = ReceiptOutcome.Previewed, Changes = [], Summary = $"Preview: {edits.Count} hand edit(s) would be adopted (nothing recorded)" });
            return;
        }
        EmitReceipt(run, receipt with { Outcome = ReceiptOutcome.Succeeded, Summary = $"Adopted {edits.Count} hand edit(s), approved by {ApprovedBy}" });
    }
}
