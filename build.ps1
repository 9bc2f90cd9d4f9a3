#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, documents, tests, packages, demonstrates and benchmarks the InfraRelocation module.

.DESCRIPTION
    The front door of the build: restores the tool modules (Invoke-Build, Pester) from NuGet through
    tools/BuildTools.csproj into output/Modules (never the PowerShell Gallery), then runs the task with
    Invoke-Build. The tasks live in InfraRelocation.build.ps1 (`build`, `docs`, `test`, `package`, `demo`,
    `bench`, `clean`). The `test` task's last line is exactly "N passed, N failed", and its exit code is 1 when
    anything failed.

.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 test

.EXAMPLE
    dotnet pwsh ./build.ps1 test -Suite Pester -Filter Help
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'docs', 'test', 'package', 'demo', 'bench', 'clean')]
    [string] $Task = 'build',

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # test: run only the Pester files whose name matches one of these wildcards (e.g. 'Help', 'Module*').
    [string[]] $Filter,

    # test: run only the xUnit projects ('Unit') or only Pester ('Pester').
    [ValidateSet('All', 'Unit', 'Pester')]
    [string] $Suite = 'All'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$OutputRoot = Join-Path $PSScriptRoot 'output'
$PackagesDir = Join-Path $OutputRoot 'packages'
$ToolModules = Join-Path $OutputRoot 'Modules'
# NuGet package id, version and module folder of each tool module; the versions are pinned in tools/BuildTools.csproj.
$Tools = @(
    @{ Package = 'invoke-build'; Version = '5.14.23'; Module = 'InvokeBuild' }
    @{ Package = 'pester'; Version = '5.7.1'; Module = 'Pester' }
)

$missing = @($Tools | Where-Object { -not (Test-Path (Join-Path $ToolModules $_.Module $_.Version "$($_.Module).psd1")) })
if ($missing -or -not (Test-Path (Join-Path $PackagesDir 'yamldotnet' '16.3.0'))) {
    Write-Host '==> Restoring build tools from NuGet (tools/BuildTools.csproj)' -ForegroundColor Cyan
    & dotnet restore (Join-Path $PSScriptRoot 'tools' 'BuildTools.csproj') --packages $PackagesDir --verbosity quiet | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "dotnet restore tools/BuildTools.csproj failed with exit code $LASTEXITCODE." }
    foreach ($tool in $Tools) {
        $target = New-Item -ItemType Directory -Force (Join-Path $ToolModules $tool.Module $tool.Version)
        Copy-Item (Join-Path $PackagesDir $tool.Package $tool.Version 'tools' '*') $target -Recurse -Force
    }
}
Import-Module (Join-Path $ToolModules 'InvokeBuild' '5.14.23' 'InvokeBuild.psd1')

$summaryFile = Join-Path $OutputRoot 'TestResults' 'summary.json'
if ($Task -eq 'test') { Remove-Item $summaryFile -ErrorAction Ignore }
$buildError = $null
try {
    $parameters = @{ Configuration = $Configuration; Suite = $Suite }
    if ($Filter) { $parameters.Filter = $Filter }
    Invoke-Build $Task -File (Join-Path $PSScriptRoot 'InfraRelocation.build.ps1') @parameters
} catch {
    $buildError = $_
}

if ($Task -ne 'test') {
    if ($buildError) { exit 1 }
    return
}

# The test task's closing line, summed over xUnit and Pester (CI reads it).
$summary = if (Test-Path $summaryFile) { Get-Content $summaryFile -Raw | ConvertFrom-Json } else {
    [pscustomobject]@{ Passed = 0; Failed = 1; Failures = @("[build] $($buildError.Exception.Message)") }
}
if (@($summary.Failures).Count) {
    Write-Host ''
    Write-Host 'Failures:' -ForegroundColor Red
    foreach ($failure in $summary.Failures) { Write-Host "  - $failure" }
    Write-Host ''
}
Write-Host "$($summary.Passed) passed, $($summary.Failed) failed"
if ($summary.Failed -gt 0 -or $buildError) { exit 1 }
