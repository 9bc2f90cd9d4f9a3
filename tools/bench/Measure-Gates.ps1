#Requires -Version 7.4
<#
.SYNOPSIS
    Benchmarks the read-only gates on synthetic estates and records the figures in docs/benchmarks.md (## Gates).

.DESCRIPTION
    1. tools/bench/GateBench (Release) generates consistent synthetic estates (N services over N/5 VMs, every file
       of the protocol) and measures, after a warm-up, the median time to parse the files into an Estate (the
       floor: EstateLoader.Load) and the time of every gate on it (GateRunner.Run: schema, D35, D36, D37, identity).
    2. In this pwsh, with the built module imported, it measures Invoke-RelocationGate end to end (resolve, load,
       gates, receipt appended to the ledger) on the same estates, after a warm-up run.
    build.ps1 bench runs this script with -ModulePath, -RepoRoot and -BenchmarksFile.
#>
[CmdletBinding()]
param(
    [string] $ModulePath,
    [string] $RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path,
    [string] $BenchmarksFile = (Join-Path $RepoRoot 'docs' 'benchmarks.md'),
    [int[]] $Sizes = @(100, 1000, 10000, 50000),
    [int] $Runs = 5,
    # Sizes on which the cmdlet itself is timed (files above the loader's size cap are refused).
    [int[]] $CmdletSizes = @(100, 1000, 10000, 50000)
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
if (-not $ModulePath) {
    $version = (Import-PowerShellDataFile (Join-Path $RepoRoot 'InfraRelocation.psd1')).ModuleVersion
    $ModulePath = Join-Path $RepoRoot 'output' 'InfraRelocation' $version 'InfraRelocation.psd1'
}

$work = Join-Path ([IO.Path]::GetTempPath()) "gatebench-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
New-Item -ItemType Directory $work | Out-Null
try {
    Write-Host "GateBench: sizes $($Sizes -join ', '), $Runs runs each"
    $project = Join-Path $RepoRoot 'tools' 'bench' 'GateBench'
    $lines = @(& dotnet run -c Release --project $project -- --sizes ($Sizes -join ',') --runs $Runs --keep $work 2>&1)
    if ($LASTEXITCODE -ne 0) { $lines | Out-Host; throw "GateBench failed with exit code $LASTEXITCODE" }
    $rows = @($lines | Where-Object { $_ -match '^\d' } | ConvertFrom-Csv -Delimiter "`t" -Header services, vms, bytes, parse_ms, gates_ms, total_ms, errors, cpu_ms)
    $rows | Format-Table | Out-Host

    Import-Module $ModulePath
    $cmdlet = @{}
    $cmdletCpu = @{}
    $self = [Diagnostics.Process]::GetCurrentProcess()
    foreach ($size in $CmdletSizes) {
        $root = Join-Path $work $size
        if (-not (Test-Path $root)) { continue }
        $null = Invoke-RelocationGate -Root $root   # warm-up
        $times = [Collections.Generic.List[double]]::new()
        $cpus = [Collections.Generic.List[double]]::new()
        foreach ($i in 1..$Runs) {
            [GC]::Collect()
            $self.Refresh()
            $cpuStart = $self.TotalProcessorTime
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $receipt = Invoke-RelocationGate -Root $root | Select-Object -Last 1
            $times.Add($sw.Elapsed.TotalMilliseconds)
            $self.Refresh()
            $cpus.Add(($self.TotalProcessorTime - $cpuStart).TotalMilliseconds)
            if ($receipt.ExitCode -ne 0) { throw "The synthetic estate of $size services should pass: $($receipt.Summary)" }
        }
        $cmdlet[[string]$size] = ($times | Sort-Object)[[int][math]::Floor($Runs / 2)]
        $cmdletCpu[[string]$size] = ($cpus | Sort-Object)[[int][math]::Floor($Runs / 2)]
        Write-Host ("Invoke-RelocationGate, {0} services: {1:n1} ms wall, {2:n1} ms CPU (median of {3})" -f $size, $cmdlet[[string]$size], $cmdletCpu[[string]$size], $Runs)
    }

    $cpu = (Get-Content /proc/cpuinfo -ErrorAction Ignore | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
    $load = (Get-Content /proc/loadavg -ErrorAction Ignore) -split ' ' | Select-Object -First 1
    $section = [Text.StringBuilder]::new()
    [void] $section.AppendLine('## Gates')
    [void] $section.AppendLine()
    [void] $section.AppendLine("Measured $(Get-Date -AsUTC -Format 'yyyy-MM-dd HH:mm') UTC by ``tools/bench/Measure-Gates.ps1`` on $([Environment]::ProcessorCount) core(s) ($cpu), load average $load at the end, .NET $([Environment]::Version). Synthetic estates from ``SyntheticEstateGenerator`` (N services over N/5 VMs, every protocol file consistent, all gates pass). Medians of $Runs runs after a warm-up.")
    [void] $section.AppendLine()
    [void] $section.AppendLine('- **Parse** = `EstateLoader.Load` (read, YAML parse, typed records, schema validation): the floor.')
    [void] $section.AppendLine('- **Gates** = `GateRunner.Run` on the loaded estate (schema, D35 with all seven surfaces, D36, D37, identity), including building the lookup dictionaries.')
    [void] $section.AppendLine('- **Parse** is cold: GateBench turns off the loader''s per-process cache (`EstateLoader.UseCache`).')
    [void] $section.AppendLine('- **Invoke-RelocationGate** = the cmdlet in-process in pwsh after a warm-up run, as a scheduled or repeated check runs it: resolve the root, load (unchanged files come from the loader''s cache, checked by SHA-256), run the gates, append the receipt to the ledger.')
    [void] $section.AppendLine('- **CPU** = process CPU time (user + system) of the same work: on a shared, loaded machine wall-clock times inflate with the load, CPU time much less (the figures before 2026-12-01 were taken while the loader parsed two files at a time, so on an idle machine their wall time could be below CPU time; it now parses one at a time).')
    [void] $section.AppendLine()
    [void] $section.AppendLine('| Services | VMs | Files (MB) | Parse (ms) | Gates (ms) | Parse + gates (ms) | Parse + gates CPU (ms) | Invoke-RelocationGate (ms) | Invoke-RelocationGate CPU (ms) |')
    [void] $section.AppendLine('|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    foreach ($row in $rows) {
        $c = if ($cmdlet.ContainsKey($row.services)) { '{0:n0}' -f $cmdlet[$row.services] } else { 'n/a (file cap)' }
        $cc = if ($cmdletCpu.ContainsKey($row.services)) { '{0:n0}' -f $cmdletCpu[$row.services] } else { 'n/a' }
        [void] $section.AppendLine(('| {0:n0} | {1:n0} | {2:n1} | {3:n0} | {4:n0} | {5:n0} | {6:n0} | {7} | {8} |' -f [int]$row.services, [int]$row.vms, ([double]$row.bytes / 1MB), [double]$row.parse_ms, [double]$row.gates_ms, [double]$row.total_ms, [double]$row.cpu_ms, $c, $cc))
    }
    [void] $section.AppendLine()

    $existing = if (Test-Path $BenchmarksFile) { Get-Content $BenchmarksFile -Raw } else { "# Benchmarks`n`n" }
    $notes = ''
    $match = [regex]::Match($existing, '(?ms)^## Gates\r?\n.*?(?=^## |\z)')
    if ($match.Success) {
        # Keep the hand-written notes (### Notes) under the table.
        $notesMatch = [regex]::Match($match.Value, '(?ms)^### Notes.*')
        if ($notesMatch.Success) { $notes = $notesMatch.Value.TrimEnd() + "`n`n" }
        $updated = $existing.Remove($match.Index, $match.Length).Insert($match.Index, $section.ToString() + $notes)
    } else {
        $updated = $existing.TrimEnd() + "`n`n" + $section.ToString()
    }
    New-Item -ItemType Directory -Force (Split-Path $BenchmarksFile) | Out-Null
    Set-Content -LiteralPath $BenchmarksFile -Value $updated.TrimEnd() -NoNewline
    Add-Content -LiteralPath $BenchmarksFile -Value ''
    Write-Host "Recorded in $BenchmarksFile"
} finally {
    Remove-Item $work -Recurse -Force -ErrorAction Ignore
}
