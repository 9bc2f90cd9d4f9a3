using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Commands;

/// <summary>
/// Test-RelocationReceiptChain: verifies the receipt ledger's hash chain and reports the first broken
/// link (an edited, removed or reordered receipt) with its line number, or a torn tail (an interrupted write) with its
/// byte offset. Reading evidence is not a run: it writes nothing, and the receipt it returns is not appended.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "RelocationReceiptChain")]
[OutputType(typeof(ReceiptChainReceipt))]
public sealed class TestRelocationReceiptChainCommand : EstateCmdlet
{
    protected override void EndProcessing()
    {
        var run = BeginRun("infra.relocation.receipts.verify", RunMode.Read);
        var store = Receipts;
        var result = Run(store.Verify);
        var relative = Path.GetRelativePath(Layout.Root, store.LedgerPath).Replace('\\', '/');
        IReadOnlyList<RelocationFinding> findings = result.IsValid ? [] :
        [
            new RelocationFinding
            {
                RuleId = "RECEIPT.Chain" + result.Break,
                Severity = FindingSeverity.Error,
                Message = result.Message,
                Location = new SourceLocation(relative, result.BrokenAtLine ?? 1, 1),
                Subject = relative,
                Actual = result.BrokenAtOffset is { } offset ? $"byte {offset}" : null,
            },
        ];
        if (!result.IsValid)
        {
            WriteWarning($"{relative}:{result.BrokenAtLine}:1 (byte {result.BrokenAtOffset}): {result.Message}");
        }
        WriteObject(run.Stamp(new ReceiptChainReceipt
        {
            Outcome = result.IsValid ? ReceiptOutcome.Passed : ReceiptOutcome.Failed,
            Summary = result.Message,
            Findings = findings,
            LedgerPath = relative,
            IsValid = result.IsValid,
            ReceiptCount = result.ReceiptCount,
            BrokenAtLine = result.BrokenAtLine,
            BrokenAtOffset = result.BrokenAtOffset,
            Break = result.Break?.ToString(),
        }));
    }
}
