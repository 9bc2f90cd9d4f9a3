#Requires -Version 7.4
<#
.SYNOPSIS
    Whole-process cold runs of a scheduled gate on passing and failing estates of 1,000 to 50,000 services, with
    peak memory; records them in docs/benchmarks.md (## Cold runs).

.DESCRIPTION
    A scheduled gate is a fresh process: `pwsh -NoProfile -Command "Import-Module ...; exit (Invoke-RelocationGate
    -Root <estate> -AsExitCode)"`. This script times exactly that, against a bare `pwsh -c "Import-Module ...;
    exit"` in the same run, so the figure is what the gate adds to the import. Each process writes its own peak
    resident memory (VmHWM, via PeakWorkingSet64) to stderr before it exits.

    The estates come from tools/bench/GateBench (--keep): N services over N/5 VMs, every protocol file; the passing
    ones are consistent, the failing ones have $BrokenShare injected inconsistencies per service, spread over every
    surface the generator can break (service registry host, backup inventory, health host, VMID range, stack target). The
    receipt ledger is removed before each run, so every run appends to an empty ledger.

    Reproduce: dotnet pwsh ./build.ps1 bench (all benchmarks), or after a build:
      dotnet pwsh tools/bench/Measure-ColdRuns.ps1 -ModulePath output/InfraRelocation/<version>/InfraRelocation.psd1
#>
[CmdletBinding()]
param(
    [string] $ModulePath,
    [string[]] $PwshCommand,
    [string] $RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path,
    [string] $BenchmarksFile,
    [int[]] $Sizes = @(1000, 10000, 50000),
    [int] $Runs = 3,
    # Injected inconsistencies per service in the failing estates (each is one error finding; at most 1.25, when
    # every service is broken). 1.2 gives about 11,600 findings on 10,000 services, near issue 17's drifting estate.
    [double] $BrokenShare = 1.2
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'Shared' 'BenchCommon.ps1')
if (-not $ModulePath) { $ModulePath = Get-BuiltModulePath $RepoRoot }
if (-not $PwshCommand) { $PwshCommand = Get-PwshCommand }

function Invoke-Cold([string] $Command) {
    # One fresh pwsh: wall time, exit code, and the peak memory it reports on stderr.
    $prefix = @($PwshCommand | Select-Object -Skip 1)
    # CPU time (user + system) is reported too: on the shared machine wall time inflates with the load, CPU time much less.
    $peakLine = '$self = [Diagnostics.Process]::GetCurrentProcess(); [Console]::Error.WriteLine("peak=$($self.PeakWorkingSet64)"); [Console]::Error.WriteLine("cpu=$([long]$self.TotalProcessorTime.TotalMilliseconds)")'
    $script = "$Command; $peakLine; exit `$code"
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $err = & $PwshCommand[0] @prefix -NoProfile -NonInteractive -Command $script 2>&1 | Where-Object { $_ -is [Management.Automation.ErrorRecord] } | ForEach-Object { "$_" }
    $watch.Stop()
    $peak = ($err | Where-Object { $_ -match '^peak=(\d+)$' } | Select-Object -Last 1) -replace '^peak=', ''
    $cpu = ($err | Where-Object { $_ -match '^cpu=(\d+)$' } | Select-Object -Last 1) -replace '^cpu=', ''
    [pscustomobject]@{ Ms = $watch.Elapsed.TotalMilliseconds; ExitCode = $LASTEXITCODE; PeakMiB = if ($peak) { [double]$peak / 1MB } else { [double]::NaN }
        CpuMs = if ($cpu) { [double]$cpu } else { [double]::NaN } }
}

$module = $ModulePath -replace "'", "''"
$work = Join-Path ([IO.Path]::GetTempPath()) "coldruns-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
New-Item -ItemType Directory $work | Out-Null
$rows = [Collections.Generic.List[object]]::new()
try {
    $project = Join-Path $RepoRoot 'tools' 'bench' 'GateBench'
    foreach ($kind in 'passing', 'failing') {
        foreach ($size in $Sizes) {
            $broken = if ($kind -eq 'failing') { [int]($size * $BrokenShare) } else { 0 }
            $keep = Join-Path $work $kind
            Write-Host "Generating the $kind estate of $size services ($broken broken)"
            $out = @(& dotnet run -c Release --project $project -- --sizes $size --runs 1 --broken $broken --keep $keep 2>&1)
            if ($LASTEXITCODE -ne 0) { $out | Out-Host; throw "GateBench failed with exit code $LASTEXITCODE" }
        }
    }

    foreach ($kind in 'passing', 'failing') {
        foreach ($size in $Sizes) {
            $root = Join-Path $work $kind $size
            $bytes = (Get-ChildItem $root -Recurse -File | Measure-Object Length -Sum).Sum
            $escaped = $root -replace "'", "''"
            $bare = "Import-Module '$module'; `$code = 0"
            # Output goes to the pipe the parent reads, as a scheduled task's log would get it.
            $gate = "Import-Module '$module'; `$code = Invoke-RelocationGate -Root '$escaped' -AsExitCode"
            $samples = foreach ($i in 1..$Runs) {
                Remove-Item (Join-Path $root 'receipts') -Recurse -Force -ErrorAction Ignore
                $import = Invoke-Cold $bare
                $run = Invoke-Cold $gate
                $expected = if ($kind -eq 'failing') { 1 } else { 0 }
                if ($run.ExitCode -ne $expected) { throw "The $kind estate of $size services exited $($run.ExitCode), expected $expected." }
                [pscustomobject]@{ Import = $import.Ms; Gate = $run.Ms; Extra = $run.Ms - $import.Ms; Peak = $run.PeakMiB; ImportPeak = $import.PeakMiB
                    ImportCpu = $import.CpuMs; GateCpu = $run.CpuMs; ExtraCpu = $run.CpuMs - $import.CpuMs }
            }
            $ledger = Join-Path $root 'receipts' 'ledger.jsonl'
            $row = [pscustomobject]@{
                Estate      = $kind
                Services    = $size
                MB          = [math]::Round($bytes / 1MB, 1)
                ImportMs    = [math]::Round((Get-Median $samples.Import))
                GateMs      = [math]::Round((Get-Median $samples.Gate))
                ExtraMs     = [math]::Round((Get-Median $samples.Extra))
                ExtraCpuMs  = [math]::Round((Get-Median $samples.ExtraCpu))
                GateCpuMs   = [math]::Round((Get-Median $samples.GateCpu))
                PeakMiB     = [math]::Round((Get-Median $samples.Peak))
                ImportPeakMiB = [math]::Round((Get-Median $samples.ImportPeak))
                ReceiptKiB  = if (Test-Path $ledger) { [math]::Round((Get-Item $ledger).Length / 1KB, 1) } else { 0 }
            }
            $row | Format-List | Out-Host
            $rows.Add($row)
        }
    }
} finally {
    Remove-Item $work -Recurse -Force -ErrorAction Ignore
}

# Linear growth: the gate's extra time per 1,000 services should not rise with the size.
$perThousand = @($rows | ForEach-Object { [pscustomobject]@{ Estate = $_.Estate; Services = $_.Services; MsPer1000 = [math]::Round($_.ExtraMs / ($_.Services / 1000), 1)
    CpuMsPer1000 = [math]::Round($_.ExtraCpuMs / ($_.Services / 1000), 1) } })
$perThousand | Format-Table | Out-Host

if ($BenchmarksFile) {
    $cpu = (Get-Content /proc/cpuinfo -ErrorAction Ignore | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
    $load = (Get-Content /proc/loadavg -ErrorAction Ignore) -split ' ' | Select-Object -First 1
    $text = [Text.StringBuilder]::new()
    [void] $text.AppendLine('## Cold runs (whole process)')
    [void] $text.AppendLine()
    [void] $text.AppendLine("Measured $(Get-Date -AsUTC -Format 'yyyy-MM-dd HH:mm') UTC by ``dotnet pwsh tools/bench/Measure-ColdRuns.ps1`` (also run by ``dotnet pwsh ./build.ps1 bench``) on $([Environment]::ProcessorCount) core(s)$(if ($cpu) { " ($cpu)" }), load average $load at the end, pwsh $($PSVersionTable.PSVersion).")
    [void] $text.AppendLine("Each row is the median of $Runs pairs of fresh processes, interleaved: ``pwsh -NoProfile -c ""Import-Module <built psd1>; exit""`` (Import) and ``pwsh -NoProfile -c ""Import-Module <built psd1>; exit (Invoke-RelocationGate -Root <estate> -AsExitCode)""`` (Gate), as a scheduled task runs it. Extra = Gate - Import. CPU = the process's own user + system time (less sensitive to the machine's load than wall time). Peak = the gate process's peak resident memory (VmHWM). Receipt = the ledger after one run.")
    [void] $text.AppendLine("Estates from ``tools/bench/GateBench --keep`` (N services over N/5 VMs); the failing ones have $BrokenShare injected inconsistencies per service (at most one per service and one per VM, across the registry host, backup inventory, health host, VMID range and stack target surfaces; each is one error finding).")
    [void] $text.AppendLine()
    [void] $text.AppendLine('| Estate | Services | Files (MB) | Import (ms) | Gate (ms) | Extra (ms) | Extra CPU (ms) | Extra CPU per 1,000 services (ms) | Peak (MiB) | Import peak (MiB) | Receipt (KiB) |')
    [void] $text.AppendLine('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    foreach ($row in $rows) {
        $per = ($perThousand | Where-Object { $_.Estate -eq $row.Estate -and $_.Services -eq $row.Services }).CpuMsPer1000
        [void] $text.AppendLine(('| {0} | {1:n0} | {2:n1} | {3:n0} | {4:n0} | {5:n0} | {6:n0} | {7:n1} | {8:n0} | {9:n0} | {10:n1} |' -f $row.Estate, $row.Services, $row.MB, $row.ImportMs, $row.GateMs, $row.ExtraMs, $row.ExtraCpuMs, $per, $row.PeakMiB, $row.ImportPeakMiB, $row.ReceiptKiB))
    }
    [void] $text.AppendLine()
    $existing = if (Test-Path $BenchmarksFile) { Get-Content $BenchmarksFile -Raw } else { "# Benchmarks`n`n" }
    # Keep the hand-written notes (### Notes) under the table, as the other sections do.
    $match = [regex]::Match($existing, '(?ms)^## Cold runs \(whole process\)\r?\n.*?(?=^## |\z)')
    if ($match.Success) {
        $notes = [regex]::Match($match.Value, '(?ms)^### Notes.*')
        $section = $text.ToString() + $(if ($notes.Success) { $notes.Value.TrimEnd() + "`n`n" } else { '' })
        $updated = $existing.Remove($match.Index, $match.Length).Insert($match.Index, $section)
    } else {
        $updated = $existing.TrimEnd() + "`n`n" + $text.ToString()
    }
    Set-Content -LiteralPath $BenchmarksFile -Value ($updated.TrimEnd() + "`n") -NoNewline -Encoding utf8NoBOM
    Write-Host "Recorded in $BenchmarksFile"
}
