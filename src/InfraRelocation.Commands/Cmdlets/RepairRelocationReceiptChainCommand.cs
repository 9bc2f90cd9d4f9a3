namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Repair-RelocationReceiptChain: cuts a torn tail (an interrupted write: a last line without its line end, or
/// complete lines at the end that are not receipts) off the receipt ledger. The intact receipts stay as they are, the
/// removed bytes are kept beside the ledger, and a receipt records the repair (offset, size, digest, saved file).
/// Damage before the last intact receipt (an edit, a removal) is not a torn write and is refused.
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "RelocationReceiptChain", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ReceiptRepairReceipt))]
public sealed class RepairRelocationReceiptChainCommand : EstateCmdlet
{
    protected override void EndProcessing()
    {
        var store = Receipts;
        var relative = Path.GetRelativePath(Layout.Root, store.LedgerPath).Replace('\\', '/');
        var torn = store.FindTornTail();
        if (torn is null)
        {
            var chain = Run(store.Verify);
            if (!chain.IsValid)
            {
                Fail("ReceiptChainNotTorn", FailureKind.InvalidData,
                    $"{relative}: {chain.Message} This is not a torn write at the end; it is not repaired automatically. " +
                    "Restore the ledger from version control or a backup.", relative, new SourceLocation(relative, chain.BrokenAtLine ?? 1, 1));
            }
            WriteVerbose($"{relative} has no torn tail: {chain.Message}");
            return;
        }
        if (!ShouldProcess(relative, $"Cut {torn.Length} byte(s) from byte {torn.Offset} ({torn.Reason})"))
        {
            return;
        }
        var run = BeginRun("infra.relocation.receipts.repair", RunMode.Execute);
        var repair = Run(() => store.RepairTornTail());
        if (repair is null)
        {
            return; // repaired by another process meanwhile
        }
        var saved = Path.GetRelativePath(Layout.Root, repair.SavedAs).Replace('\\', '/');
        WriteWarning($"{relative}: cut {repair.RemovedBytes} byte(s) from byte {repair.Offset} ({repair.Reason}); kept in {saved}.");
        EmitReceipt(run, new ReceiptRepairReceipt
        {
            Outcome = ReceiptOutcome.Succeeded,
            Summary = $"Cut a torn tail of {repair.RemovedBytes} byte(s) at byte {repair.Offset} ({repair.Reason}); kept in {saved}.",
            LedgerPath = relative,
            TruncatedAtOffset = repair.Offset,
            RemovedBytes = repair.RemovedBytes,
            RemovedSha256 = repair.RemovedSha256,
            SavedAs = saved,
        });
    }
}
