using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Core.Estate;
using InfraRelocation.Model;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Commands;

/// <summary>
/// Get-RelocationManifest: the estate's relocation manifest as a typed object (services, VM targets,
/// required updates, exceptions), every value with its source location. Records a Read receipt in the ledger.
/// </summary>
[Cmdlet(VerbsCommon.Get, "RelocationManifest")]
[OutputType(typeof(RelocationManifest))]
public sealed class GetRelocationManifestCommand : EstateCmdlet
{
    protected override void EndProcessing()
    {
        var run = BeginRun("infra.relocation.manifest.read", RunMode.Read);
        var estate = Run(() => EstateLoader.Load(Layout, [EstateFile.Manifest]));
        run.RecordInputs(estate.InputDigests);
        var manifest = estate.Manifest;
        if (manifest is null)
        {
            Fail("RelocationManifestNotFound", FailureKind.ObjectNotFound,
                $"The estate at '{Layout.Root}' has no relocation manifest ({Layout.RelativePath(EstateFile.Manifest)}).",
                Layout.FullPath(EstateFile.Manifest));
            return;
        }
        var errors = estate.ValidationFindings.Count(f => f.Severity == FindingSeverity.Error);
        if (errors > 0)
        {
            WriteWarning($"{manifest.File} has {errors} schema error(s); run Test-RelocationManifest for details.");
        }
        // The receipt is evidence in the ledger; the pipeline carries only the manifest so it can be bound by name.
        var receipt = run.Stamp(new ManifestReadReceipt
        {
            Outcome = errors > 0 ? ReceiptOutcome.Failed : ReceiptOutcome.Passed,
            Summary = $"Read {manifest.File}: {manifest.Services.Count} services, {manifest.VmTargets.Count} VM targets.",
            Findings = estate.ValidationFindings,
            ChangeId = manifest.ActiveRelocation?.ChangeId,
            State = manifest.ActiveRelocation?.StateText,
            ServiceCount = manifest.Services.Count,
            VmTargetCount = manifest.VmTargets.Count,
        });
        var stored = TryRecord(receipt);
        WriteVerbose($"Receipt {stored.RunId} appended ({(stored.Hash.Length >= 12 ? stored.Hash[..12] : "not recorded")}).");
        WriteObject(manifest);
    }
}
