using InfraRelocation.Model;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>Get-RelocationEstate: which estate the module resolves and the protocol files it reads.</summary>
[Cmdlet(VerbsCommon.Get, "RelocationEstate")]
[OutputType(typeof(EstateFileInfo))]
public sealed class GetRelocationEstateCommand : EstateCmdlet
{
    protected override void EndProcessing()
    {
        foreach (var file in Enum.GetValues<EstateFile>())
        {
            WriteObject(Run(() => Layout.Describe(file)));
        }
    }
}
