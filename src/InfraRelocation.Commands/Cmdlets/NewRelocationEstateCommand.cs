using InfraRelocation.Model;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// New-RelocationEstate: makes an existing folder (a repository) an estate, writing every protocol file that is
/// missing as a valid skeleton and the configuration with every paths: key commented. Existing files are kept.
/// </summary>
[Cmdlet(VerbsCommon.New, "RelocationEstate", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ScaffoldedFile))]
public sealed class NewRelocationEstateCommand : RelocationCmdlet
{
    /// <summary>The folder to make an estate (default: the current location); it must exist.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>The change id of the relocation the manifest starts with.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ChangeId { get; set; } = "CHG-0001";

    /// <summary>Owner of the relocation and the documents (a person or team handle).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Owner { get; set; } = "@" + Environment.UserName;

    protected override void EndProcessing()
    {
        var root = ResolvePath(Path ?? ".");
        if (!Directory.Exists(root))
        {
            Fail("EstateFolderNotFound", FailureKind.ObjectNotFound, $"The folder '{root}' does not exist; an estate is made in an existing folder.", root);
            return;
        }
        foreach (var item in EstateScaffold.Plan(root, ChangeId, Owner))
        {
            var outcome = ScaffoldOutcome.Kept;
            if (!item.Exists)
            {
                outcome = ScaffoldOutcome.WouldCreate;
                if (ShouldProcess(System.IO.Path.Combine(root, item.RelativePath), "Create estate file"))
                {
                    Run(() => EstateScaffold.Write(root, item));
                    outcome = ScaffoldOutcome.Created;
                }
            }
            WriteObject(new ScaffoldedFile
            {
                Outcome = outcome,
                Path = item.RelativePath,
                FullPath = System.IO.Path.GetFullPath(System.IO.Path.Combine(root, item.RelativePath)),
                Root = root,
            });
        }
    }
}
