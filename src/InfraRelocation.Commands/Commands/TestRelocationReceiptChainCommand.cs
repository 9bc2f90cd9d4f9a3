using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Commands;

/// <summary>
/// Test-RelocationReceiptChain: verifies the receipt ledger's hash chain and reports the first broken
/// link (an edited, removed or reordered receipt) with its line number. Appends its own receipt.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "RelocationReceiptChain")]
[OutputType(typeof(ReceiptChainReceipt))]
public sealed class TestRelocationReceiptChainCommand : EstateCmdlet
{
    protected override void EndProcessing()
    {
        var run = BeginRun("infra.relocation.receipts.verify", RunMode.Read);
        var store = new ReceiptStore(Layout.ReceiptsPath);
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
            },
        ];
        if (!result.IsValid)
        {
            WriteWarning($"{relative}:{result.BrokenAtLine}:1: {result.Message}");
        }
        EmitReceipt(run, new ReceiptChainReceipt
        {
            Outcome = result.IsValid ? ReceiptOutcome.Passed : ReceiptOutcome.Failed,
            Summary = result.Message,
            Findings = findings,
            LedgerPath = relative,
            IsValid = result.IsValid,
            ReceiptCount = result.ReceiptCount,
            BrokenAtLine = result.BrokenAtLine,
            Break = result.Break?.ToString(),
        });
    }
}
