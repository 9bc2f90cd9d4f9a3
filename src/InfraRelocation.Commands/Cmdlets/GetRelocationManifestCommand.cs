using InfraRelocation.Model;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Get-RelocationManifest: the estate's relocation manifest as a typed object (services, VM targets,
/// required updates, exceptions), every value with its source location. Reading changes nothing: no receipt is written.
/// </summary>
[Cmdlet(VerbsCommon.Get, "RelocationManifest")]
[OutputType(typeof(RelocationManifest))]
public sealed class GetRelocationManifestCommand : EstateCmdlet
{
    protected override void EndProcessing()
    {
        var estate = Run(() => EstateLoader.Load(Layout, [EstateFile.Manifest]));
        var manifest = estate.Manifest;
        if (manifest is null)
        {
            Fail("ManifestMissing", FailureKind.ObjectNotFound,
                $"The estate at '{Layout.Root}' has no relocation manifest ({Layout.RelativePath(EstateFile.Manifest)}).",
                Layout.FullPath(EstateFile.Manifest));
            return;
        }
        var errors = estate.ValidationFindings.Count(f => f.Severity == FindingSeverity.Error);
        if (errors > 0)
        {
            WriteWarning($"{manifest.File} has {errors} schema error(s); run Test-RelocationManifest for details.");
        }
        WriteVerbose($"Read {manifest.File}: {manifest.Services.Count} services, {manifest.VmTargets.Count} VM targets (nothing recorded: reads write nothing).");
        var root = Layout.Root;
        WriteObject(manifest with
        {
            EstateRoot = root,
            Services = manifest.Services.Select(s => s with { EstateRoot = root }).ToList(),
            VmTargets = manifest.VmTargets.Select(v => v with { EstateRoot = root }).ToList(),
        });
    }
}
