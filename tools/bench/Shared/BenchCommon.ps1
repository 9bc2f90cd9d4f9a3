# What the gate benchmarks share; dot-source it: . (Join-Path $PSScriptRoot 'Shared' 'BenchCommon.ps1').
# It lives below tools/bench because `build.ps1 bench` runs every script in that folder as a benchmark.

# The module this checkout builds: output/InfraRelocation/<the psd1's version>/InfraRelocation.psd1.
function Get-BuiltModulePath([string] $RepoRoot) {
    $version = (Import-PowerShellDataFile (Join-Path $RepoRoot 'InfraRelocation.psd1')).ModuleVersion
    Join-Path $RepoRoot 'output' 'InfraRelocation' $version 'InfraRelocation.psd1'
}

# How to start a fresh pwsh like this one: its executable, then pwsh.dll when it runs as `dotnet pwsh`.
function Get-PwshCommand {
    @([Environment]::ProcessPath; if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
}

function Get-Median([double[]] $Values) { ($Values | Sort-Object)[[int][math]::Floor($Values.Count / 2)] }
