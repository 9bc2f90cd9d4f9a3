#Requires -Version 7.4
<#
.SYNOPSIS
    Runs tools/demo/*.ps1 in name order in this (fresh) pwsh, on a throw-away copy of the sample estate.

.DESCRIPTION
    build.ps1 starts this script in a new `pwsh -NoProfile -NonInteractive`. It imports the built module, copies
    the repository's sample estate (ops/ and docs/governance/) to a temp folder and sets $DemoRoot to it, then
    dot-sources every step so that steps can leave variables for later ones. The repository is never changed.
    A step that throws stops the demo with exit code 1.

    Writing a step: tools/demo/NN-topic.ps1; start with Write-DemoStep 'Title'; use $DemoRoot (never the
    repository); show output with Format-Table/Format-List or Out-Host.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $RepoRoot
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Write-DemoStep([string] $Title) {
    Write-Host ''
    Write-Host "--- $Title ---" -ForegroundColor Yellow
}

function Write-DemoCommand([string] $Command) {
    # Echoes a command the way a reader would type it.
    Write-Host "PS> $Command" -ForegroundColor DarkGray
}

Import-Module $ModulePath

# The tests' estate helpers (New-TestEstate, Edit-EstateFile): one way to copy and hand-edit the sample estate.
. (Join-Path $RepoRoot 'tests' 'Pester' 'EstateFixture.ps1')
$DemoRoot = New-TestEstate -Name infra-relocation-demo

Write-Host "InfraRelocation $((Get-Module InfraRelocation).Version) demo on a copy of the sample estate: $DemoRoot"
$steps = @(Get-ChildItem (Join-Path $RepoRoot 'tools' 'demo') -Filter '*.ps1' | Sort-Object Name)
$exitCode = 0
try {
    foreach ($step in $steps) {
        Write-Host ''
        Write-Host "=== Step $($step.BaseName) ===" -ForegroundColor Cyan
        try {
            . $step.FullName
        } catch {
            Write-Host "Step $($step.Name) failed: $($_.Exception.Message)" -ForegroundColor Red
            Write-Host ($_.ScriptStackTrace) -ForegroundColor DarkGray
            $exitCode = 1
            break
        }
    }
    if ($exitCode -eq 0) { Write-Host ''; Write-Host "Demo finished: $($steps.Count) step(s)." -ForegroundColor Green }
} finally {
    Set-Location $RepoRoot
    Remove-Item $DemoRoot -Recurse -Force -ErrorAction Ignore
}
exit $exitCode
