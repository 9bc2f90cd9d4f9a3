#Requires -Version 7.4
<#
.SYNOPSIS
    The in-process gate after warm-up against the YAML event-parse floor of the same files, both in CPU time
    (docs/benchmarks.md, "Cold runs", "In-process after warm-up"; issue 17: within twice the event-parse time).

.DESCRIPTION
    GateBench writes a failing estate (1.2 inconsistencies per service, as Measure-ColdRuns) and times, in its own
    process, YamlDotNet's events over the estate's YAML files (the floor). Then, in this pwsh with the built module
    imported, Invoke-RelocationGate -AsExitCode runs once to warm up and -Runs times more on the same estate, each
    timed by this process's CPU time (the loader's cache answers for the unchanged files, as for a repeated check),
    then -Runs times with the loader's cache off, so every file is read and parsed again (as if all had changed).
    Both figures are CPU time, taken one after the other, so they compare on a loaded machine; wall times are shown too.

    dotnet pwsh tools/bench/Measure-WarmGate.ps1 -ModulePath output/InfraRelocation/0.1.0/InfraRelocation.psd1
#>
[CmdletBinding()]
param(
    [string] $ModulePath,
    [string] $RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path,
    [int] $Services = 10000,
    [double] $BrokenShare = 1.2,
    [int] $Runs = 5
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'Shared' 'BenchCommon.ps1')
if (-not $ModulePath) { $ModulePath = Get-BuiltModulePath $RepoRoot }

$work = Join-Path ([IO.Path]::GetTempPath()) "warmgate-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
try {
    $out = @(& dotnet run -c Release --project (Join-Path $RepoRoot 'tools' 'bench' 'GateBench') -- --sizes $Services --runs 3 `
            --broken ([int]($Services * $BrokenShare)) --parsers --keep $work 2>&1)
    if ($LASTEXITCODE -ne 0) { $out | Out-Host; throw "GateBench failed with exit code $LASTEXITCODE" }
    $floor = "$($out -match '^parsers ')"
    if ($floor -notmatch 'events ([\d.]+) ms \((\d+) ms CPU\)') { $out | Out-Host; throw 'GateBench printed no parser floor.' }
    $eventsWall, $eventsCpu = [double]$Matches[1], [double]$Matches[2]
    $root = Join-Path $work $Services

    Import-Module $ModulePath
    $self = [Diagnostics.Process]::GetCurrentProcess()
    $null = Invoke-RelocationGate -Root $root -AsExitCode 6>$null   # warm-up
    $samples = foreach ($i in 1..$Runs) {
        $self.Refresh(); $cpu = $self.TotalProcessorTime; $sw = [Diagnostics.Stopwatch]::StartNew()
        $code = Invoke-RelocationGate -Root $root -AsExitCode 6>$null
        $wall = $sw.Elapsed.TotalMilliseconds; $self.Refresh()
        if ($code -ne 1) { throw "The failing estate's gate exited $code, expected 1." }
        [pscustomobject]@{ Wall = $wall; Cpu = ($self.TotalProcessorTime - $cpu).TotalMilliseconds }
    }
    $gateCpu = Get-Median @($samples.Cpu)
    # The same runs with the loader's cache off: every file is read and parsed again, as if all of them had changed.
    $core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'InfraRelocation.Core' } | Select-Object -First 1
    $useCache = $core.GetType('InfraRelocation.Core.Estate.EstateLoader').GetProperty('UseCache')
    $useCache.SetValue($null, $false)
    $null = Invoke-RelocationGate -Root $root -AsExitCode 6>$null   # warm-up of the parsing path
    $uncached = foreach ($i in 1..$Runs) {
        $self.Refresh(); $cpu = $self.TotalProcessorTime; $sw = [Diagnostics.Stopwatch]::StartNew()
        $null = Invoke-RelocationGate -Root $root -AsExitCode 6>$null
        $wall = $sw.Elapsed.TotalMilliseconds; $self.Refresh()
        [pscustomobject]@{ Wall = $wall; Cpu = ($self.TotalProcessorTime - $cpu).TotalMilliseconds }
    }
    $useCache.SetValue($null, $true)
    $uncachedCpu = Get-Median @($uncached.Cpu)
    $load = (Get-Content /proc/loadavg -ErrorAction Ignore) -split ' ' | Select-Object -First 1
    Write-Host $floor
    Write-Host ("Warm Invoke-RelocationGate -AsExitCode, {0:n0} services (failing): {1:n0} ms CPU ({2:n0} ms wall), median of {3}; " -f $Services, $gateCpu, (Get-Median @($samples.Wall)), $Runs) -NoNewline
    Write-Host ("event-parse floor {0:n0} ms CPU ({1:n0} ms wall): {2:n2}x the floor (goal within 2x); load average {3}" -f $eventsCpu, $eventsWall, ($gateCpu / $eventsCpu), $load)
    Write-Host ("Every file parsed again (the loader's cache off): {0:n0} ms CPU ({1:n0} ms wall), median of {2}: {3:n2}x the floor" -f $uncachedCpu, (Get-Median @($uncached.Wall)), $Runs, ($uncachedCpu / $eventsCpu))
} finally {
    Remove-Item $work -Recurse -Force -ErrorAction Ignore
}
