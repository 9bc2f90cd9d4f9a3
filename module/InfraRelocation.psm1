# Loads InfraRelocation's cmdlets into a private AssemblyLoadContext (see src/InfraRelocation/LoadContext.cs),
# so YamlDotNet, SSH.NET and their dependencies never clash with other modules' copies.

$importModule = Get-Command -Name Import-Module -Module Microsoft.PowerShell.Core
$isReload = $true
if (-not ('InfraRelocation.LoadContext' -as [type])) {
    $isReload = $false
    Add-Type -Path ([System.IO.Path]::Combine($PSScriptRoot, 'bin', 'InfraRelocation.dll'))
}

$commandsAssembly = [InfraRelocation.LoadContext]::Initialize()
$innerModule = & $importModule -Assembly $commandsAssembly -PassThru:$isReload

if ($innerModule) {
    # On a re-import pwsh reuses the cached binary module and does not re-export its cmdlets to this
    # script module: https://github.com/PowerShell/PowerShell/issues/20710
    $addExportedCmdlet = [System.Management.Automation.PSModuleInfo].GetMethod(
        'AddExportedCmdlet', [System.Reflection.BindingFlags]'Instance, NonPublic')
    foreach ($cmdlet in $innerModule.ExportedCmdlets.Values) {
        $addExportedCmdlet.Invoke($ExecutionContext.SessionState.Module, @(, $cmdlet))
    }
}
