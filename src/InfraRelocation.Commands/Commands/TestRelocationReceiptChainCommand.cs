using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Commands;

/// <summary>
/// Test-RelocationReceiptChain: verifies the receipt ledger's hash chain and reports the first broken
/// link (an edited, removed or reordered receipt) with its line number, a torn tail (an interrupted write) with its
/// byte offset, or a chain that no longer reaches the head the manifest anchors (<c>ledger_anchor</c>: a truncated or
/// rewritten ledger) with the anchor's location. Reading evidence is not a run: it writes nothing, and the receipt it
/// returns is not appended.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "RelocationReceiptChain")]
[OutputType(typeof(ReceiptChainReceipt))]
public sealed class TestRelocationReceiptChainCommand : EstateCmdlet
{
    protected override void EndProcessing()
    {
        var run = BeginRun("infra.relocation.receipts.verify", RunMode.Read);
        var store = Receipts;
        var manifest = ReadManifest();
        var result = Run(() => store.Verify(manifest?.LedgerAnchor));
        var relative = Path.GetRelativePath(Layout.Root, store.LedgerPath).Replace('\\', '/');
        var location = result.Break == ReceiptChainBreak.Anchor && manifest?.LocationOf(LedgerAnchor.ManifestKey) is { } anchorAt
            ? anchorAt
            : new SourceLocation(relative, result.BrokenAtLine ?? 1, 1);
        IReadOnlyList<RelocationFinding> findings = result.IsValid ? [] :
        [
            new RelocationFinding
            {
                RuleId = "RECEIPT.Chain" + result.Break,
                Severity = FindingSeverity.Error,
                Message = result.Message,
                Location = location,
                Subject = relative,
                Actual = result.BrokenAtOffset is { } offset ? $"byte {offset}" : null,
            },
        ];
        if (!result.IsValid)
        {
            WriteWarning($"{location.File}:{location.Line}:{location.Column}{(result.BrokenAtOffset is { } at ? $" (byte {at})" : "")}: {result.Message}");
        }
        else if (manifest is { LedgerAnchor: null })
        {
            WriteVerbose($"{manifest.File} has no {LedgerAnchor.ManifestKey} yet (no change since anchoring began): the chain was checked on its own.");
        }
        WriteObject(run.Stamp(new ReceiptChainReceipt
        {
            Outcome = result.IsValid ? ReceiptOutcome.Passed : ReceiptOutcome.Failed,
            Summary = result.Message + (result.Anchored ? " It reaches the head the manifest anchors." : ""),
            Findings = findings,
            LedgerPath = relative,
            IsValid = result.IsValid,
            ReceiptCount = result.ReceiptCount,
            BrokenAtLine = result.BrokenAtLine,
            BrokenAtOffset = result.BrokenAtOffset,
            Break = result.Break?.ToString(),
            Anchor = manifest?.LedgerAnchor,
            Anchored = result.Anchored,
        }));
    }

    // The anchor lives in the manifest; a manifest that cannot be read leaves the chain checked on its own (with a warning).
    private Model.RelocationManifest? ReadManifest()
    {
        try
        {
            return EstateLoader.Load(Layout, [EstateFile.Manifest]).Manifest;
        }
        catch (RelocationException ex)
        {
            WriteWarning($"The manifest cannot be read ({ex.ErrorId}), so the ledger was not checked against its {LedgerAnchor.ManifestKey}: {ex.Message}");
            return null;
        }
    }
}
