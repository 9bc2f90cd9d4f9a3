using System.Management.Automation;
using System.Security.Cryptography;
using InfraRelocation.Commands.Base;
using InfraRelocation.Core.Estate;
using InfraRelocation.Model;

namespace InfraRelocation.Commands.Commands;

/// <summary>Get-RelocationEstate: which estate the module resolves and the protocol files it reads.</summary>
[Cmdlet(VerbsCommon.Get, "RelocationEstate")]
[OutputType(typeof(EstateFileInfo))]
public sealed class GetRelocationEstateCommand : EstateCmdlet
{
    protected override void EndProcessing()
    {
        foreach (var file in Enum.GetValues<EstateFile>())
        {
            var full = Layout.FullPath(file);
            var exists = File.Exists(full);
            WriteObject(new EstateFileInfo
            {
                Kind = file.ToString(),
                Path = Layout.RelativePath(file),
                FullPath = full,
                Exists = exists,
                Sha256 = exists ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(full))).ToLowerInvariant() : "",
                Length = exists ? new FileInfo(full).Length : 0,
                Root = Layout.Root,
            });
        }
    }
}
