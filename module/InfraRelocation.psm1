# Loads InfraRelocation's cmdlets into a private AssemblyLoadContext (see src/InfraRelocation/LoadContext.cs),
# so YamlDotNet, SSH.NET and their dependencies never clash with other modules' copies.

# The engine's own Import-Module, even if a proxy function shadows it (a type lookup; Get-Command costs ~25 ms).
$importModule = $ExecutionContext.InvokeCommand.GetCmdletByTypeName([Microsoft.PowerShell.Commands.ImportModuleCommand])
$loadContext = 'InfraRelocation.LoadContext' -as [type]
$isReload = $null -ne $loadContext
if (-not $isReload) {
    # Loading the assembly directly is ~70 ms faster than Add-Type -Path, which first initialises its compiler
    # support (see docs/benchmarks.md). It goes into the default context, so its public types stay nameable.
    $loadContext = [System.Runtime.Loader.AssemblyLoadContext]::Default.LoadFromAssemblyPath(
        [System.IO.Path]::Combine($PSScriptRoot, 'bin', 'InfraRelocation.dll')).GetType('InfraRelocation.LoadContext', $true)
}

$commandsAssembly = $loadContext::Initialize()
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
