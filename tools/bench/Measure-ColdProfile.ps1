#Requires -Version 7.4
<#
.SYNOPSIS
    Where a cold scheduled gate run spends its time and memory: JIT-compiled methods, bytes allocated, garbage
    collections, CPU time and peak memory of Import-Module and of Invoke-RelocationGate -AsExitCode in fresh pwsh
    processes (docs/benchmarks.md, "Cold runs", "Where the time and memory go").

.DESCRIPTION
    Each run is one fresh `pwsh -NoProfile` that reads the runtime's own counters
    ([System.Runtime.JitInfo]::GetCompiledMethodCount, GC.GetTotalAllocatedBytes, GC.CollectionCount, the process's
    CPU time and PeakWorkingSet64) after the import and after the gate, and prints them; this script prints the
    medians of the gate's share. It writes nothing to docs/benchmarks.md: the figures are read beside the cold runs.
    The estate is -EstateRoot, or a failing GateBench estate (1.2 inconsistencies per service, as Measure-ColdRuns).

    dotnet pwsh tools/bench/Measure-ColdProfile.ps1 -ModulePath output/InfraRelocation/0.1.0/InfraRelocation.psd1

    Given several module paths (a build before a change and after it), the runs alternate between them, so each
    module's medians come from the same window of the machine's load: the fair before/after on a shared machine.
#>
[CmdletBinding()]
param(
    [string[]] $ModulePath,
    [string[]] $PwshCommand,
    [string] $RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path,
    [string] $EstateRoot,
    [int] $Services = 10000,
    [double] $BrokenShare = 1.2,
    [int] $Runs = 3
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'Shared' 'BenchCommon.ps1')
if (-not $ModulePath) { $ModulePath = @(Get-BuiltModulePath $RepoRoot) }
if (-not $PwshCommand) { $PwshCommand = Get-PwshCommand }

$work = $null
if (-not $EstateRoot) {
    $work = Join-Path ([IO.Path]::GetTempPath()) "coldprofile-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
    $out = @(& dotnet run -c Release --project (Join-Path $RepoRoot 'tools' 'bench' 'GateBench') -- --sizes $Services --runs 1 `
            --broken ([int]($Services * $BrokenShare)) --keep $work 2>&1)
    if ($LASTEXITCODE -ne 0) { $out | Out-Host; throw "GateBench failed with exit code $LASTEXITCODE" }
    $EstateRoot = Join-Path $work $Services
}
try {
    # The child prints one line per point: label, CPU ms, JIT-compiled methods, MB allocated, GCs (all, gen 2), peak MiB.
    $child = @'
$self = [Diagnostics.Process]::GetCurrentProcess()
function Point($label) {
    $self.Refresh()
    '{0} {1} {2} {3} {4} {5} {6}' -f $label, [long]$self.TotalProcessorTime.TotalMilliseconds, [System.Runtime.JitInfo]::GetCompiledMethodCount($false),
        [long]([GC]::GetTotalAllocatedBytes() / 1MB), [GC]::CollectionCount(0), [GC]::CollectionCount(2), [long]($self.PeakWorkingSet64 / 1MB)
}
Import-Module $args[0]
Point import
$null = Invoke-RelocationGate -Root $args[1] -AsExitCode 6>$null
Point gate
'@
    $script = Join-Path ([IO.Path]::GetTempPath()) "coldprofile-$PID.ps1"
    Set-Content $script $child
    $samples = foreach ($i in 1..$Runs) {
        foreach ($module in $ModulePath) {
            Remove-Item (Join-Path $EstateRoot 'receipts') -Recurse -Force -ErrorAction Ignore
            $lines = & $PwshCommand[0] @($PwshCommand | Select-Object -Skip 1) -NoProfile -NonInteractive -File $script $module $EstateRoot
            $import, $gate = foreach ($label in 'import', 'gate') { , @(($lines | Where-Object { $_ -like "$label *" }) -split ' ' | Select-Object -Skip 1 | ForEach-Object { [double]$_ }) }
            [pscustomobject]@{
                Module = $module
                ImportCpuMs = $import[0]; ImportJit = $import[1]
                GateCpuMs = $gate[0] - $import[0]; GateJit = $gate[1] - $import[1]; GateAllocMB = $gate[2] - $import[2]
                GateGCs = $gate[3] - $import[3]; GateGen2 = $gate[4] - $import[4]; PeakMiB = $gate[5]
            }
        }
    }
    $samples | Format-Table | Out-Host
    foreach ($module in $ModulePath) {
        $mine = @($samples | Where-Object Module -EQ $module)
        $median = [ordered]@{ Module = $module }
        foreach ($name in $mine[0].PSObject.Properties.Name | Where-Object { $_ -ne 'Module' }) { $median[$name] = Get-Median @($mine.$name) }
        Write-Host "Medians of $Runs fresh processes on $EstateRoot (load average $((Get-Content /proc/loadavg -ErrorAction Ignore) -split ' ' | Select-Object -First 1)):"
        [pscustomobject]$median | Format-List | Out-Host
    }
} finally {
    Remove-Item $script -ErrorAction Ignore
    if ($work) { Remove-Item $work -Recurse -Force -ErrorAction Ignore }
}
